// berth-bench.node: what only the benchmarks call, kept out of the addon every container start loads.
#include <napi.h>

#include "addon/convert.h"
#include "bench/bench_mount.h"

namespace berth {
namespace {

// benchMount(fstype, source, target, data, iterations): nanoseconds per mount(2), one per iteration.
Napi::Value BenchMount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    std::vector<double> ns =
        benchMount(info[0].As<Napi::String>(), info[1].As<Napi::String>(), info[2].As<Napi::String>(),
                   info[3].As<Napi::String>(), info[4].As<Napi::Number>().Int32Value());
    Napi::Array out = Napi::Array::New(env, ns.size());
    for (size_t i = 0; i < ns.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, ns[i]));
    return out;
  } catch (const SysError& e) {
    throw sysErrorToJs(env, e);
  }
}

}  // namespace
}  // namespace berth

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("benchMount", Napi::Function::New(env, berth::BenchMount));
  return exports;
}

NODE_API_MODULE(berth_bench, Init)
