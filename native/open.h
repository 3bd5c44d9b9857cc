// Opening TAP queues and setting their offloads (ioctl on /dev/net/tun).
#pragma once
#include <napi.h>

namespace shoal {

Napi::Value OpenTap(const Napi::CallbackInfo& info);
Napi::Value SetOffload(const Napi::CallbackInfo& info);
/** The TUN_F_* bits of if_tun.h, for the TypeScript side. */
Napi::Object OffloadFlags(Napi::Env env);

}  // namespace shoal
