// OCI createContainer hooks, run by a created container's init (berth-oci's create: no CLONE_VM, so
// this process may fork) after its mounts and before pivot_root: in the container's namespaces and
// cgroup, the host's root still in view, as runc's init runs them. Everything they need was
// prepared before clone (ChildContext::hooks); each gets the state JSON on stdin from a memfd, so
// a hook that never reads it blocks nothing.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/io.h"
#include "core/spawn.h"

namespace berth {

namespace {

// The state's pid is the init's as the caller sees it: before pivot_root our /proc is still the
// caller's, whose /proc/self names us by that pid.
int stateFile(const ChildContext* ctx) {
  char pid[24];
  ssize_t n = readlink("/proc/self", pid, sizeof pid - 1);
  if (n <= 0) return -1;
  int fd = static_cast<int>(syscall(SYS_memfd_create, "berth-hook-state", MFD_CLOEXEC));
  if (fd < 0) return -1;
  const std::string& head = ctx->plan->hookStateHead;
  const std::string& tail = ctx->plan->hookStateTail;
  if (!writeAll(fd, head.data(), head.size()) || !writeAll(fd, pid, static_cast<size_t>(n)) ||
      !writeAll(fd, tail.data(), tail.size())) {
    close(fd);
    return -1;
  }
  return fd;
}

[[noreturn]] void execHook(const ChildContext::HookExec& h, int state) {
  int null = open("/dev/null", O_RDWR);
  if (dup2(state, 0) < 0 || null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) _exit(127);
  syscall(SYS_close_range, 3, ~0U, 0);
  // the init works with umask 0 until its process's own; a hook gets the conventional one
  umask(022);
  execve(h.path, h.argv, h.env);
  _exit(127);
}

}  // namespace

ChildFailure runCreateContainerHooks(const ChildContext* ctx) {
  if (ctx->hookCount == 0) return {Step::kNone, 0, -1};
  int state = stateFile(ctx);
  if (state < 0) return {Step::kCreateContainerHook, errno, 0};
  for (int i = 0; i < ctx->hookCount; i++) {
    const ChildContext::HookExec& h = ctx->hooks[i];
    if (lseek(state, 0, SEEK_SET) < 0) return {Step::kCreateContainerHook, errno, i};
    // a raw clone: no atfork handlers, nothing of the C library's state needed before execve
    pid_t child = static_cast<pid_t>(syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0));
    if (child < 0) return {Step::kClone, errno, i};
    if (child == 0) execHook(h, state);
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
    if (h.timeout > 0 && pidfd >= 0) {
      struct pollfd p = {pidfd, POLLIN, 0};
      int r;
      do r = poll(&p, 1, h.timeout * 1000);
      while (r < 0 && errno == EINTR);
      if (r == 0) {
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
        close(pidfd);
        close(state);
        return {Step::kCreateContainerHookTimeout, ETIMEDOUT, i};
      }
    }
    if (pidfd >= 0) close(pidfd);
    int status = 0;
    while (waitpid(child, &status, 0) < 0)
      if (errno != EINTR) return {Step::kCreateContainerHook, errno, i};
    // the failure's err is the hook's exit status (128 + N for a signal), not an errno
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0) {
      close(state);
      return {Step::kCreateContainerHook, code, i};
    }
  }
  close(state);
  return {Step::kNone, 0, -1};
}

}  // namespace berth
