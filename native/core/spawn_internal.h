#pragma once
// Internals of spawn.cc (kept apart from its public header); not part of the addon's interface.
#include <string>
#include <vector>

#include "core/spawn.h"
#include "core/unique_fd.h"

namespace berth {
extern const size_t kChildStack;
std::vector<char*> cstrings(const std::vector<std::string>& v);
// Receives one fd sent with SCM_RIGHTS (the pty master); `wait` blocks for it.
int receiveFd(int sock, bool wait = false);
// The cgroup.procs/tasks files the child writes itself into, opened before clone.
std::vector<UniqueFd> openProcsFiles(const SpawnPlan& plan);
// plan.netnsPath opened for the child's setns, or an invalid fd without one.
UniqueFd openNetns(const SpawnPlan& plan);
// The op target, exec candidate or cgroup file a child failure's index names.
std::string failurePath(const SpawnPlan& plan, const ChildFailure& f);
}  // namespace berth
