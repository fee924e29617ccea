#include "core/netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "core/errors.h"
#include "core/io.h"

namespace berth {
namespace {

constexpr long kNsfsMagic = 0x6e736673;

// Runs on a thread of its own: unshare(CLONE_NEWNET) moves only the calling thread, so the
// process's other threads (Node's) never change namespace; the thread ends right after.
SysError pinNewNamespace(const std::string& path) {
  if (unshare(CLONE_NEWNET) < 0) return SysError{errno, "unshare network namespace", ""};
  int err = bringLoopbackUp();
  if (err) return SysError{err, "loopback up", ""};
  if (mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) < 0)
    return SysError{errno, "bind-mount network namespace", path};
  return SysError{0, "", ""};
}

}  // namespace

void createNetns(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
  if (fd < 0) throwSys(errno, "create network namespace file", path);
  close(fd);
  SysError result{0, "", ""};
  std::thread t([&] { result = pinNewNamespace(path); });
  t.join();
  if (result.err) {
    unlink(path.c_str());
    throw result;
  }
}

void removeNetns(const std::string& path) {
  struct statfs fs;
  if (statfs(path.c_str(), &fs) < 0) {
    if (errno == ENOENT) return;
    throwSys(errno, "statfs", path);
  }
  // Only ever unmount what createNetns mounted: an nsfs file. A plain file is debris of a
  // createNetns that died before its mount, and goes.
  if (static_cast<long>(fs.f_type) == kNsfsMagic && umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
    throwSys(errno, "unmount network namespace", path);
  if (unlink(path.c_str()) < 0 && errno != ENOENT) throwSys(errno, "remove network namespace file", path);
}

}  // namespace berth
