#pragma once
#include <string>
#include <vector>

namespace berth::shim {

// rmdir each directory, deepest first. The kernel may report EBUSY for a moment after the last
// task of a cgroup was reaped: retried for up to half a second. Missing directories are fine.
void removeCgroupDirs(const std::vector<std::string>& dirs);

// --rm: renames `dir` to a sibling `.rm-<name>` (the container disappears at once), releases the
// name link if it still names this container, then deletes the tree without following symlinks
// or crossing mount points.
void removeContainerDir(const std::string& dir, const std::string& nameLink);
// Its first half, the fast one: the container disappears (renamed to `.rm-<id>`, its name link
// released). Returns what is left to delete with deleteContainerDir ("" if nothing).
std::string releaseContainerDir(const std::string& dir, const std::string& nameLink);
void deleteContainerDir(const std::string& released);

bool pathExists(const std::string& path);

}  // namespace berth::shim
