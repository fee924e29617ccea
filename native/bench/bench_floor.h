#pragma once
#include <string>
#include <vector>

#include "core/errors.h"

namespace berth {
// The floor of a container start: nanoseconds per clone(2) of five namespaces (mnt, pid, uts, ipc,
// net) + overlay mount of the rootfs + pivot_root + execve of `argv0` inside it + wait, one per
// iteration, each timed by the forked process that does the clone (none of it in Node's process).
std::vector<double> benchFloor(const std::string& overlayData, const std::string& merged, const std::string& argv0,
                               int iterations);
}  // namespace berth
