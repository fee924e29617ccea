#include "core/errors.h"

#include <cerrno>

namespace berth {

const char* stepName(Step step) {
  static const char* const names[] = {
#define BERTH_STEP_NAME(id, name) name,
      BERTH_CHILD_STEPS(BERTH_STEP_NAME)
#undef BERTH_STEP_NAME
  };
  auto i = static_cast<unsigned>(step);
  return i < static_cast<unsigned>(Step::kCount) ? names[i] : "unknown step";
}

int startFailureStatus(Step step, int err) {
  if (step != Step::kExecve) return 125;
  return err == ENOENT || err == ENOTDIR ? 127 : 126;
}

}  // namespace berth
