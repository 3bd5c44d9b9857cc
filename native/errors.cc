#include "errors.h"

#include <cstring>
#include <string>

namespace shoal {

void ThrowErrno(Napi::Env env, int err, const char* syscall, const char* what) {
  // strerrorname_np (glibc 2.32) gives "EPERM"; Node's system errors use the same names.
  const char* name = strerrorname_np(err);
  std::string code = name != nullptr ? name : "E" + std::to_string(err);
  std::string message = std::string(syscall) + (what[0] != '\0' ? std::string(" ") + what : "") +
                        ": " + std::strerror(err) + " (" + code + ")";
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  throw e;
}

}  // namespace shoal
