#include "shim/cleanup.h"

#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "core/io.h"

namespace berth::shim {
namespace {

size_t depth(const std::string& p) { return static_cast<size_t>(std::count(p.begin(), p.end(), '/')); }

}  // namespace

bool pathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

void removeCgroupDirs(const std::vector<std::string>& dirs) {
  std::vector<std::string> order(dirs);
  std::stable_sort(order.begin(), order.end(),
                   [](const std::string& a, const std::string& b) { return depth(a) > depth(b); });
  for (const std::string& dir : order) {
    for (int attempt = 0; attempt < 50; attempt++) {
      if (rmdir(dir.c_str()) == 0 || errno != EBUSY) break;
      struct timespec pause = {0, 10 * 1000 * 1000};
      nanosleep(&pause, nullptr);
    }
  }
}

void removeContainerDir(const std::string& dir, const std::string& nameLink) {
  deleteContainerDir(releaseContainerDir(dir, nameLink));
}

void deleteContainerDir(const std::string& released) {
  // Past a failure too: what remains is swept by TypeScript later.
  if (!released.empty()) removeTree(released.c_str(), true);
}

std::string releaseContainerDir(const std::string& dir, const std::string& nameLink) {
  // An --ipc shareable container's /dev/shm tmpfs, mounted on the host in its directory
  // (src/runtime/ipc-shm.ts): gone before the directory is (EINVAL when it is no mount).
  umount2((dir + "/shm").c_str(), MNT_DETACH);
  size_t slash = dir.find_last_of('/');
  std::string base = dir.substr(slash + 1);
  std::string doomed = dir.substr(0, slash + 1) + ".rm-" + base;
  std::string target = dir;
  if (rename(dir.c_str(), doomed.c_str()) == 0)
    target = doomed;
  else if (errno == ENOENT)
    target.clear();  // already removed (rm -f)
  if (!nameLink.empty()) {
    // The name may already belong to a newer container: release it only if it names this one.
    char link[PATH_MAX];
    ssize_t n = readlink(nameLink.c_str(), link, sizeof link - 1);
    if (n >= 0) {
      link[n] = '\0';
      if (base == link || dir == link) unlink(nameLink.c_str());
    }
  }
  return target;
}

}  // namespace berth::shim
