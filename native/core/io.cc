#include "core/io.h"

#include <fcntl.h>
#include <ftw.h>
#include <net/if.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth {

unsigned long mountFlagsOf(const char* path) {
  struct statvfs st;
  if (statvfs(path, &st) < 0) return 0;
  unsigned long flags = 0;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  return flags;
}

int placePreservedFds(int from, int count, int* const* keep, int keepCount) {
  const int end = 3 + count;
  for (int k = 0; k < keepCount; k++) {
    int fd = *keep[k];
    if (fd < 3 || fd >= end) continue;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, end);
    if (moved < 0) return errno;
    close(fd);
    *keep[k] = moved;
  }
  // In increasing order: a target at or above `from` is a source already moved.
  for (int i = 0; i < count; i++)
    if (from + i != 3 + i && dup2(from + i, 3 + i) < 0) return errno;
  // dup2 clears close-on-exec on its target; one left in place needs it cleared by hand
  for (int i = 0; i < count; i++)
    if (fcntl(3 + i, F_SETFD, 0) < 0) return errno;
  return 0;
}

bool writeAll(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

namespace {

union FdMessage {
  char buf[CMSG_SPACE(sizeof(int))];
  struct cmsghdr align;
};

}  // namespace

int sendFd(int sock, int fd) {
  char byte = 0;
  struct iovec iov = {&byte, 1};
  FdMessage u;
  memset(&u, 0, sizeof u);
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? errno : 0;
}

int tryReceiveFd(int sock, bool wait) {
  char byte;
  struct iovec iov = {&byte, 1};
  FdMessage u;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  if (recvmsg(sock, &msg, (wait ? 0 : MSG_DONTWAIT) | MSG_CMSG_CLOEXEC) < 0) return -errno;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -EPROTO;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

int bringLoopbackUp() {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, "lo", 3);
  int err = 0;
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) err = errno;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (!err && ioctl(s, SIOCSIFFLAGS, &ifr) < 0) err = errno;
  close(s);
  return err;
}

namespace {

// nftw's callback has no context argument; each thread removes one tree at a time.
thread_local int firstError;
thread_local bool keepGoingAfterError;

int removeEntry(const char* path, const struct stat*, int, struct FTW*) {
  if (remove(path) < 0 && errno != ENOENT) {
    if (!firstError) firstError = errno;
    if (!keepGoingAfterError) return firstError;
  }
  return 0;
}

}  // namespace

int removeTree(const char* path, bool keepGoing) {
  firstError = 0;
  keepGoingAfterError = keepGoing;
  int r = nftw(path, removeEntry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (r < 0 && errno != ENOENT && !firstError) firstError = errno;
  return firstError;
}

}  // namespace berth
