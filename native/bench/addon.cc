// berth-bench.node: what only the benchmarks call, kept out of the addon every container start loads.
#include <napi.h>

#include "addon/convert.h"
#include "bench/bench_floor.h"
#include "bench/bench_mount.h"

namespace berth {
namespace {

Napi::Array toArray(Napi::Env env, const std::vector<double>& ns) {
  Napi::Array out = Napi::Array::New(env, ns.size());
  for (size_t i = 0; i < ns.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, ns[i]));
  return out;
}

// benchMount(fstype, source, target, data, iterations, flags = 0): nanoseconds per mount(2), one per
// iteration.
Napi::Value BenchMount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    unsigned long flags = info.Length() > 5 ? static_cast<unsigned long>(info[5].As<Napi::Number>().Int64Value()) : 0;
    return toArray(env, benchMount(info[0].As<Napi::String>(), info[1].As<Napi::String>(), info[2].As<Napi::String>(),
                                   info[3].As<Napi::String>(), info[4].As<Napi::Number>().Int32Value(), flags));
  } catch (const SysError& e) {
    throw sysErrorToJs(env, e);
  }
}

// benchFloor(overlayData, merged, argv0, iterations): nanoseconds per clone + overlay mount +
// pivot_root + execve + wait, one per iteration (bench_floor.h).
Napi::Value BenchFloor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    return toArray(env, benchFloor(info[0].As<Napi::String>(), info[1].As<Napi::String>(), info[2].As<Napi::String>(),
                                   info[3].As<Napi::Number>().Int32Value()));
  } catch (const SysError& e) {
    throw sysErrorToJs(env, e);
  }
}

}  // namespace
}  // namespace berth

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("benchMount", Napi::Function::New(env, berth::BenchMount));
  exports.Set("benchFloor", Napi::Function::New(env, berth::BenchFloor));
  return exports;
}

NODE_API_MODULE(berth_bench, Init)
