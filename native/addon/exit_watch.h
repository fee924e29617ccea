#pragma once
#include <napi.h>

namespace berth {
// watchExit(pidfd, cb): cb({code, signal}) once, from the event loop, after reaping the process.
Napi::Value WatchExit(const Napi::CallbackInfo& info);
Napi::Value UnwatchExit(const Napi::CallbackInfo& info);
}  // namespace berth
