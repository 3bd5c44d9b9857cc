// Errors the addon throws: a JS Error with Node's system-error fields (code, errno,
// syscall), so the TypeScript side can say in one line what to do about it.
#pragma once
#include <napi.h>

namespace shoal {

[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char* syscall, const char* what);

}  // namespace shoal
