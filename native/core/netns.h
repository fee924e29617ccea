#pragma once
#include <string>

namespace berth {

// A network namespace that outlives every process in it (as `ip netns add` makes one): a new
// namespace with its loopback up, pinned by bind-mounting its nsfs file over `path` (an empty
// file created here, which must not exist yet). Containers join it through SpawnPlan::netnsPath,
// CNI plugins get `path` as CNI_NETNS. Throws SysError; on failure nothing is left at `path`.
void createNetns(const std::string& path);

// Unpins and deletes a namespace made by createNetns (lazily: a process still in it keeps it
// alive). A missing path is not an error; a plain file (a createNetns that died before its
// mount) is just removed.
void removeNetns(const std::string& path);

}  // namespace berth
