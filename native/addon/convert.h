#pragma once
#include <napi.h>

#include "core/errors.h"
#include "core/spawn.h"

namespace berth {

// Reads the plan TypeScript built (already validated there) into the core struct. A field of the
// wrong type is a programming error in berth itself and throws a TypeError naming it.
SpawnPlan planFromJs(const Napi::Object& obj);

// Node-style error objects: message "syscall path: strerror", code "EPERM", errno, syscall, path.
Napi::Error sysErrorToJs(Napi::Env env, const SysError& e);
Napi::Error childErrorToJs(Napi::Env env, const ChildError& e);

}  // namespace berth
