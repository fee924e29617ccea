#pragma once
// Small system-call helpers shared by the addon, the shim and berth-nsenter. None allocates or
// throws, so the child between clone and execve may call them too.
#include <cstddef>

namespace berth {

// write(2) until all n bytes are out, retrying EINTR; false on any other failure.
bool writeAll(int fd, const void* data, size_t n);

// Sends fd over a unix socket with SCM_RIGHTS (one byte of payload). 0, or the errno.
int sendFd(int sock, int fd);

// Receives one descriptor sent by sendFd, close-on-exec; `wait` blocks for it. The fd, or -errno.
int tryReceiveFd(int sock, bool wait);

// Brings the loopback interface of the calling thread's network namespace up. 0, or the errno.
int bringLoopbackUp();

// Deletes a tree bottom-up (nftw FTW_DEPTH|FTW_PHYS|FTW_MOUNT: no symlink followed, no mount
// crossed, so nothing outside it can go). `keepGoing`: delete what it can past a failure. Returns
// 0 or the first errno (a tree that is already gone is not a failure).
int removeTree(const char* path, bool keepGoing);

// The per-mount flags (MS_NOSUID, MS_NODEV, MS_NOEXEC) the mount at `path` already has. In a user
// namespace the kernel locks those of a mount that came from the host, and refuses a remount (read
// only, say) that would clear them: such a remount must carry them along, as runc's does.
unsigned long mountFlagsOf(const char* path);

// --preserve-fds: descriptors from..from+count-1 become 3..3+count-1 (without close-on-exec). The
// descriptors *keep points to that are still needed until execve are first moved out of the way
// (above 3+count, close-on-exec) and updated. 0, or the errno.
int placePreservedFds(int from, int count, int* const* keep, int keepCount);

}  // namespace berth
