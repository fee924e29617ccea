#pragma once
#include <napi.h>

namespace berth {
// listXattrs(path): [[name, Buffer], ...] of path itself (llistxattr + lgetxattr, never following a
// symlink at path). setXattr(path, name, value): lsetxattr. TypeScript chose the path (validated to
// lie inside a layer) and the names; C++ only does the syscalls Node lacks.
Napi::Value ListXattrs(const Napi::CallbackInfo& info);
Napi::Value SetXattr(const Napi::CallbackInfo& info);
}  // namespace berth
