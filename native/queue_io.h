// One TAP queue's fd: batched receive into pool memory shared with JS, batched
// transmit from fragment lists, and readiness through libuv (uv_poll_t), so the JS
// event loop sleeps until the fd is readable (or writable after EAGAIN).
#pragma once
#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace shoal {

class QueueIo : public Napi::ObjectWrap<QueueIo> {
 public:
  static Napi::Function Define(Napi::Env env);

  // new QueueIo(fd, burst, rxCtrl, small, smallCap, large | null, largeCap, txCtrl, onReady)
  explicit QueueIo(const Napi::CallbackInfo& info);
  ~QueueIo() override;

 private:
  // receive(max) -> frames read (records in rxCtrl)
  Napi::Value Receive(const Napi::CallbackInfo& info);
  // transmit(frames, bufs, nbufs) -> frames done (sent or failed; an EAGAIN stops the burst)
  Napi::Value Transmit(const Napi::CallbackInfo& info);
  // watch(events): start uv_poll for UV_READABLE|UV_WRITABLE (0 stops it)
  Napi::Value Watch(const Napi::CallbackInfo& info);
  // close(): stops the poll and closes the fd
  Napi::Value Close(const Napi::CallbackInfo& info);

  static void OnPoll(uv_poll_t* handle, int status, int events);
  // The thread's environment is going (a worker ends): the poll handle and the fd go
  // with it, whether or not JavaScript closed the queue.
  static void OnEnvCleanup(void* arg);
  void StopPoll();
  void ReleaseFd();
  void Unhook();

  int fd_;
  int burst_;
  // The control arrays and the pool buffers are kept referenced, so their memory
  // stays where the pointers below point (an ArrayBuffer's store does not move).
  Napi::Reference<Napi::Int32Array> rxCtrlRef_;
  Napi::Reference<Napi::Int32Array> txCtrlRef_;
  Napi::Reference<Napi::Value> smallRef_;
  Napi::Reference<Napi::Value> largeRef_;
  int32_t* rx_;
  int32_t* tx_;
  size_t txWords_;
  uint8_t* small_;
  size_t smallLen_;
  size_t smallCap_;
  uint8_t* large_;
  size_t largeLen_;
  size_t largeCap_;
  // Where frames go that found no posted buffer: read and dropped, as a NIC drops.
  std::vector<uint8_t> scratch_;
  // Per transmit call: each buffer's first byte and length (kept to avoid allocating).
  std::vector<std::pair<uint8_t*, size_t>> bufs_;

  Napi::FunctionReference onReady_;
  Napi::AsyncContext* asyncContext_;
  uv_poll_t* poll_;
  int events_;
  napi_env env_;
  bool hooked_;
};

}  // namespace shoal
