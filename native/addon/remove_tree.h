#pragma once
#include <napi.h>

namespace berth {
// removeTree(path): Promise<void>. Deletes a directory tree on a libuv worker thread.
Napi::Value RemoveTree(const Napi::CallbackInfo& info);
}  // namespace berth
