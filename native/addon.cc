// Shoal's native addon: only what Node cannot do for the TAP link (ioctl on
// /dev/net/tun, batched fd I/O into shared pool memory, readiness through libuv).
// Every protocol stays in TypeScript.
#include <napi.h>

#include "layout.h"
#include "open.h"
#include "queue_io.h"

namespace shoal {

Napi::Object Layout(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("vnetHdrLen", kVnetHdrLen);
  o.Set("rxErrno", kRxErrno);
  o.Set("rxLargeUsed", kRxLargeUsed);
  o.Set("rxHeaderWords", kRxHeaderWords);
  o.Set("rxRecWords", kRxRecWords);
  o.Set("rxRecLen", kRxRecLen);
  o.Set("rxRecFlags", kRxRecFlags);
  o.Set("rxRecGsoType", kRxRecGsoType);
  o.Set("rxRecHdrLen", kRxRecHdrLen);
  o.Set("rxRecGsoSize", kRxRecGsoSize);
  o.Set("rxRecCsumStart", kRxRecCsumStart);
  o.Set("rxRecCsumOffset", kRxRecCsumOffset);
  o.Set("rxRecStatus", kRxRecStatus);
  o.Set("rxSmall", kRxSmall);
  o.Set("rxLarge", kRxLarge);
  o.Set("rxNoBuffer", kRxNoBuffer);
  o.Set("rxTruncated", kRxTruncated);
  o.Set("txFrameWords", kTxFrameWords);
  o.Set("txFragWords", kTxFragWords);
  o.Set("txFrags", kTxFrags);
  o.Set("txFlags", kTxFlags);
  o.Set("txGsoType", kTxGsoType);
  o.Set("txHdrLen", kTxHdrLen);
  o.Set("txGsoSize", kTxGsoSize);
  o.Set("txCsumStart", kTxCsumStart);
  o.Set("txCsumOffset", kTxCsumOffset);
  o.Set("txResult", kTxResult);
  o.Set("txMaxFrags", kTxMaxFrags);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("openTap", Napi::Function::New<OpenTap>(env, "openTap"));
  exports.Set("setOffload", Napi::Function::New<SetOffload>(env, "setOffload"));
  exports.Set("offloadFlags", OffloadFlags(env));
  exports.Set("layout", Layout(env));
  exports.Set("QueueIo", QueueIo::Define(env));
  return exports;
}

}  // namespace shoal

static Napi::Object InitShoal(Napi::Env env, Napi::Object exports) { return shoal::Init(env, exports); }

NODE_API_MODULE(shoal_native, InitShoal)
