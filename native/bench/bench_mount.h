#pragma once
#include <fcntl.h>

#include <string>
#include <vector>

#include "core/errors.h"

namespace berth {
// Nanoseconds per mount(2) call (with `flags`: MS_BIND for a bind mount), measured in a throwaway
// mount namespace.
std::vector<double> benchMount(const std::string& fstype, const std::string& source, const std::string& target,
                               const std::string& data, int iterations, unsigned long flags = 0);
}  // namespace berth
