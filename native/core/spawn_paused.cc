// Paused starts, for containers whose network namespace must be set up (CNI) before the command
// runs. The child is forked rather than vfork'd: the caller keeps running while the child, having
// built its namespaces and rootfs, waits on a pipe for release() before it execs. Failures come
// back over a second pipe, closed by execve on success.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>

#include "core/spawn.h"
#include "core/spawn_internal.h"
#include "core/unique_fd.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace berth {
namespace {

struct Pending {
  SpawnPlan plan;  // kept to name the op a failure refers to
  UniqueFd release;
  UniqueFd errors;
  UniqueFd ttyParent;
  int pidfd;
};

std::map<pid_t, std::unique_ptr<Pending>>& pending() {
  static std::map<pid_t, std::unique_ptr<Pending>> m;
  return m;
}

void reap(int pidfd) {
  siginfo_t info;
  waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED);
}

}  // namespace

Paused spawnPaused(const SpawnPlan& plan) {
  cgroupPrepare(plan);
  std::vector<UniqueFd> procs = openProcsFiles(plan);
  std::vector<int> procsFds;
  for (const UniqueFd& fd : procs) procsFds.push_back(fd.get());
  auto p = std::make_unique<Pending>();
  p->plan = plan;
  int rel[2], err[2];
  if (pipe2(rel, O_CLOEXEC) < 0) throwSys(errno, "pipe2");
  UniqueFd relRead(rel[0]);
  p->release.reset(rel[1]);
  if (pipe2(err, O_CLOEXEC) < 0) throwSys(errno, "pipe2");
  p->errors.reset(err[0]);
  UniqueFd errWrite(err[1]);
  UniqueFd ttyChild;
  if (plan.tty) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) throwSys(errno, "socketpair");
    p->ttyParent.reset(sv[0]);
    ttyChild.reset(sv[1]);
  }
  std::vector<char*> argv = cstrings(p->plan.argv);
  std::vector<char*> env = cstrings(p->plan.env);
  ChildContext ctx{&p->plan, argv.data(), env.data(), procsFds.data(), static_cast<int>(procsFds.size()),
                   ttyChild.get(), {nullptr, 0, -1}, relRead.get(), errWrite.get(), p->release.get(), p->errors.get(),
                   -1, nullptr, 0, -1};
  UniqueFd netns = openNetns(p->plan);
  ctx.netnsFd = netns.get();
  void* stack = mmap(nullptr, kChildStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) throwSys(errno, "mmap", "child stack");
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pidfd = -1;
  pid_t pid = clone(childMain, static_cast<char*>(stack) + kChildStack, plan.cloneFlags | CLONE_PIDFD | SIGCHLD, &ctx, &pidfd);
  int cloneErr = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  munmap(stack, kChildStack);
  if (pid < 0) throwSys(cloneErr, "clone", "");
  p->pidfd = pidfd;
  pending()[pid] = std::move(p);
  return Paused{pid, pidfd};
}

int release(pid_t pid) {
  auto it = pending().find(pid);
  if (it == pending().end()) throwSys(ESRCH, "release", "container process " + std::to_string(pid));
  std::unique_ptr<Pending> p = std::move(it->second);
  pending().erase(it);
  char go = 1;
  ssize_t w = write(p->release.get(), &go, 1);
  (void)w;
  p->release.reset();
  ChildFailure f{nullptr, 0, -1};
  ssize_t n;
  do n = read(p->errors.get(), &f, sizeof f);
  while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof f)) {
    reap(p->pidfd);
    throw ChildError{f, failurePath(p->plan, f)};
  }
  // EOF: execve closed the child's end. (The pidfd stays with the caller, who reaps later.)
  return p->plan.tty ? receiveFd(p->ttyParent.get(), true) : -1;
}

void abortPaused(pid_t pid) {
  auto it = pending().find(pid);
  if (it == pending().end()) return;
  std::unique_ptr<Pending> p = std::move(it->second);
  pending().erase(it);
  p->release.reset();  // EOF: the child exits without running anything
  syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, nullptr, 0);
}

}  // namespace berth
