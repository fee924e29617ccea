// cgroup files written by the parent before clone. TypeScript chose every directory, file and value
// (v1 or v2); this only performs them, in order, so that e.g. cpuset.cpus/mems precede the join.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/spawn.h"
#include "core/unique_fd.h"

namespace berth {

void cgroupPrepare(const SpawnPlan& plan) {
  for (const std::string& dir : plan.cgroupDirs)
    if (mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) throwSys(errno, "mkdir", dir);
  for (const auto& [file, value] : plan.cgroupWrites) {
    UniqueFd fd(open(file.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) throwSys(errno, "open", file);
    if (write(fd.get(), value.data(), value.size()) < 0) throwSys(errno, "write", file);
  }
}

}  // namespace berth
