#include "queue_io.h"

#include <unistd.h>

#include "errors.h"

namespace shoal {

namespace {

// A Uint8Array over the pool's memory (an ArrayBuffer or a SharedArrayBuffer): its
// first byte and length.
std::pair<uint8_t*, size_t> BytesOf(Napi::Env env, Napi::Value v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a Uint8Array");
  }
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  return {a.Data(), a.ByteLength()};
}

}  // namespace

Napi::Function QueueIo::Define(Napi::Env env) {
  return DefineClass(env, "QueueIo",
                     {
                         InstanceMethod<&QueueIo::Receive>("receive"),
                         InstanceMethod<&QueueIo::Transmit>("transmit"),
                         InstanceMethod<&QueueIo::Watch>("watch"),
                         InstanceMethod<&QueueIo::Close>("close"),
                     });
}

QueueIo::QueueIo(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<QueueIo>(info), fd_(-1), asyncContext_(nullptr), poll_(nullptr), events_(0), env_(info.Env()), hooked_(false) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  burst_ = info[1].As<Napi::Number>().Int32Value();
  Napi::Int32Array rx = info[2].As<Napi::Int32Array>();
  auto small = BytesOf(env, info[3], "the receive pool");
  smallCap_ = info[4].As<Napi::Number>().Uint32Value();
  Napi::Value largeValue = info[5];
  largeCap_ = info[6].As<Napi::Number>().Uint32Value();
  Napi::Int32Array tx = info[7].As<Napi::Int32Array>();
  Napi::Function onReady = info[8].As<Napi::Function>();

  if (burst_ < 1 || rx.ElementLength() < static_cast<size_t>(4 + burst_ * 10)) {
    throw Napi::RangeError::New(env, "receive control array too small for the burst");
  }
  rxCtrlRef_ = Napi::Reference<Napi::Int32Array>::New(rx, 1);
  txCtrlRef_ = Napi::Reference<Napi::Int32Array>::New(tx, 1);
  smallRef_ = Napi::Reference<Napi::Value>::New(info[3], 1);
  rx_ = rx.Data();
  tx_ = tx.Data();
  txWords_ = tx.ElementLength();
  small_ = small.first;
  smallLen_ = small.second;
  large_ = nullptr;
  largeLen_ = 0;
  if (!largeValue.IsNull() && !largeValue.IsUndefined()) {
    auto large = BytesOf(env, largeValue, "the large receive pool");
    largeRef_ = Napi::Reference<Napi::Value>::New(largeValue, 1);
    large_ = large.first;
    largeLen_ = large.second;
  }
  scratch_.resize(65536 + 4096);
  onReady_ = Napi::Persistent(onReady);
  asyncContext_ = new Napi::AsyncContext(env, "ShoalTapQueue");
  fd_ = fd;
  // A worker's environment ends with its thread: without this, an open queue's handle
  // would keep it from ending (and its fd would leak into the process).
  if (napi_add_env_cleanup_hook(env, OnEnvCleanup, this) == napi_ok) hooked_ = true;
}

QueueIo::~QueueIo() {
  // A queue that was never closed: let go of the handle and the fd (a poll in progress
  // holds a reference to this object, so only an idle one gets here).
  Unhook();
  StopPoll();
  ReleaseFd();
  delete asyncContext_;
}

void QueueIo::OnEnvCleanup(void* arg) {
  QueueIo* self = static_cast<QueueIo*>(arg);
  self->hooked_ = false;
  if (self->poll_ != nullptr) {
    // No JavaScript now: the handle is stopped and closed, the reference left as it is.
    uv_poll_stop(self->poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(self->poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    self->poll_ = nullptr;
    self->events_ = 0;
  }
  self->ReleaseFd();
}

void QueueIo::Unhook() {
  if (hooked_) napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
  hooked_ = false;
}

void QueueIo::StopPoll() {
  if (poll_ == nullptr) return;
  uv_poll_stop(poll_);
  // The handle's memory goes once libuv is done with it.
  uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  poll_ = nullptr;
  if (events_ != 0) Unref();
  events_ = 0;
}

void QueueIo::ReleaseFd() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

Napi::Value QueueIo::Watch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int events = info[0].As<Napi::Number>().Int32Value() & (UV_READABLE | UV_WRITABLE);
  if (fd_ < 0) throw Napi::Error::New(env, "the TAP queue is closed");
  if (events == events_) return env.Undefined();
  if (poll_ == nullptr) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, "no libuv loop");
    poll_ = new uv_poll_t;
    int err = uv_poll_init(loop, poll_, fd_);
    if (err < 0) {
      delete poll_;
      poll_ = nullptr;
      ThrowErrno(env, -err, "uv_poll_init", "");
    }
    poll_->data = this;
  }
  if (events == 0) {
    uv_poll_stop(poll_);
    Unref();
  } else {
    int err = uv_poll_start(poll_, events, OnPoll);
    if (err < 0) ThrowErrno(env, -err, "uv_poll_start", "");
    // While libuv may call back, the object must stay alive.
    if (events_ == 0) Ref();
  }
  events_ = events;
  return env.Undefined();
}

void QueueIo::OnPoll(uv_poll_t* handle, int status, int events) {
  QueueIo* self = static_cast<QueueIo*>(handle->data);
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  try {
    // MakeCallback: runs process.nextTick callbacks and microtasks afterwards, as
    // Node's own I/O callbacks do.
    self->onReady_.MakeCallback(env.Global(), {Napi::Number::New(env, status), Napi::Number::New(env, events)},
                                *self->asyncContext_);
  } catch (const Napi::Error& e) {
    // No JS frame is below us: an exception goes to 'uncaughtException'.
    napi_fatal_exception(env, e.Value());
  }
}

Napi::Value QueueIo::Close(const Napi::CallbackInfo& info) {
  Unhook();
  StopPoll();
  ReleaseFd();
  return info.Env().Undefined();
}

}  // namespace shoal
