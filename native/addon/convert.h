#pragma once
#include <napi.h>

#include "core/errors.h"
#include "core/spawn.h"

namespace berth {

// Node-style error objects: message "syscall path: strerror", code "EPERM", errno, syscall, path.
Napi::Error sysErrorToJs(Napi::Env env, const SysError& e);
Napi::Error childErrorToJs(Napi::Env env, const ChildError& e);

}  // namespace berth
