// Path resolution inside a container rootfs, done in the child between clone and execve: stack
// buffers only, raw system calls only.
//
// Symlinks are followed the way the container itself will see them (an absolute link restarts at
// the rootfs), so `/var/run -> /run` works. A `..` that would climb above the rootfs is refused with
// EXDEV instead of being clamped: a volume target that points out of the rootfs is a mistake or an
// attack, and the user must hear about it. The final open uses openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS) on the canonical path, so even a racing rename cannot move us outside.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/spawn.h"

namespace berth {
namespace {

constexpr size_t kPathMax = 4096;
constexpr int kMaxSymlinks = 40;

// Copies `a` then `b` (joined by '/') into dst; false when it does not fit.
bool join2(char* dst, size_t cap, const char* a, size_t alen, const char* b) {
  size_t blen = strlen(b);
  if (alen + 1 + blen + 1 > cap) return false;
  memmove(dst + alen + 1, b, blen + 1);  // b may live inside dst
  memmove(dst, a, alen);
  dst[alen] = '/';
  return true;
}

int openBeneath(int rootfd, const char* canon) {
  if (canon[0] == '\0') return static_cast<int>(openat(rootfd, ".", O_PATH | O_CLOEXEC));
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(syscall(SYS_openat2, rootfd, canon, &how, sizeof how));
}

}  // namespace

int resolveInRoot(int rootfd, const char* path, int create) {
  char rest[2 * kPathMax];
  char scratch[2 * kPathMax];
  char canon[kPathMax];
  size_t clen = 0;
  int links = 0;

  size_t plen = strlen(path);
  if (plen >= sizeof rest) return -ENAMETOOLONG;
  memcpy(rest, path, plen + 1);
  canon[0] = '\0';
  char* p = rest;

  for (;;) {
    while (*p == '/') p++;
    if (*p == '\0') break;
    char* end = p;
    while (*end != '\0' && *end != '/') end++;
    size_t n = static_cast<size_t>(end - p);
    char* next = end;
    while (*next == '/') next++;
    bool last = (*next == '\0');

    if (n == 1 && p[0] == '.') {
      p = next;
      continue;
    }
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      if (clen == 0) return -EXDEV;  // would leave the rootfs
      while (clen > 0 && canon[clen - 1] != '/') clen--;
      if (clen > 0) clen--;  // drop the separator too
      canon[clen] = '\0';
      p = next;
      continue;
    }
    size_t before = clen;
    if (clen + (clen ? 1 : 0) + n + 1 > sizeof canon) return -ENAMETOOLONG;
    if (clen) canon[clen++] = '/';
    memcpy(canon + clen, p, n);
    clen += n;
    canon[clen] = '\0';

    struct stat st;
    if (fstatat(rootfd, canon, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT || create == 0) return -errno;
      if (last && create == 2) {
        int fd = static_cast<int>(openat(rootfd, canon, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (fd < 0 && errno != EEXIST) return -errno;
        if (fd >= 0) close(fd);
      } else if (mkdirat(rootfd, canon, 0755) < 0 && errno != EEXIST) {
        return -errno;
      }
      p = next;
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) return -ELOOP;
      char target[kPathMax];
      ssize_t tl = readlinkat(rootfd, canon, target, sizeof target - 1);
      if (tl < 0) return -errno;
      target[tl] = '\0';
      // The link replaces its own component: resolution continues from its parent.
      clen = before;
      canon[clen] = '\0';
      if (target[0] == '/') {
        clen = 0;
        canon[0] = '\0';
      }
      if (*next == '\0') {
        if (static_cast<size_t>(tl) + 1 > sizeof scratch) return -ENAMETOOLONG;
        memcpy(scratch, target, static_cast<size_t>(tl) + 1);
      } else if (!join2(scratch, sizeof scratch, target, static_cast<size_t>(tl), next)) {
        return -ENAMETOOLONG;
      }
      memcpy(rest, scratch, strlen(scratch) + 1);
      p = rest;
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) return -ENOTDIR;
    p = next;
  }
  int fd = openBeneath(rootfd, canon);
  return fd < 0 ? -errno : fd;
}

}  // namespace berth
