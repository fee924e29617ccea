// libFuzzer target for decodePlan (native/core/plan_codec.cc), which reads a file any process
// running as root could have replaced (the shim's plan) and bytes handed over by JavaScript. Any
// input must either decode or throw PlanFormatError: a crash, a sanitizer report, an uncaught
// exception of another type (std::bad_alloc) or a runaway allocation is a bug.
#include <cstddef>
#include <cstdint>

#include "core/plan_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    berth::SpawnPlan plan = berth::decodePlan(data, size);
    // What decodePlan promises its callers about a plan it returns.
    if (plan.argv.empty() || (plan.execCandidates.empty() && plan.initPath.empty())) __builtin_trap();
  } catch (const berth::PlanFormatError&) {
  }
  return 0;
}
