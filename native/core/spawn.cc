// Parent side of container creation. Everything the child needs is laid out before clone; the
// child runs on a private stack in our address space and the calling thread sleeps until it has
// exec'd or failed (CLONE_VFORK), so a whole start costs one clone and no page-table copy of Node.
#include "core/spawn.h"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/seccomp.h"
#include "core/spawn_internal.h"
#include "core/unique_fd.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace berth {

void throwSys(int err, const char* syscall, const std::string& path) { throw SysError{err, syscall, path}; }

extern const size_t kChildStack = 512 * 1024;

std::vector<char*> cstrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const std::string& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

int receiveFd(int sock, bool wait) {
  char byte;
  struct iovec iov = {&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  if (recvmsg(sock, &msg, (wait ? 0 : MSG_DONTWAIT) | MSG_CMSG_CLOEXEC) < 0) throwSys(errno, "recvmsg", "pty master");
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) throwSys(EPROTO, "recvmsg", "pty master");
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

std::string failurePath(const SpawnPlan& plan, const ChildFailure& f) {
  std::string step = f.step;
  if (f.index < 0) return step == "mount rootfs" ? plan.rootfs : step == "chdir" ? plan.cwd : "";
  size_t i = static_cast<size_t>(f.index);
  if (step == "execve") return i < plan.execCandidates.size() ? plan.execCandidates[i] : "";
  if (step == "join cgroup") return i < plan.cgroupProcs.size() ? plan.cgroupProcs[i] : "";
  if (step == "mount" || step == "mkdir" || step == "mknod" || step == "symlink" || step == "remount read-only" ||
      step == "open")
    return i < plan.mounts.size() ? "/" + plan.mounts[i].target : "";
  return "";
}

std::vector<UniqueFd> openProcsFiles(const SpawnPlan& plan) {
  std::vector<UniqueFd> out;
  for (const std::string& file : plan.cgroupProcs) {
    UniqueFd fd(open(file.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) throwSys(errno, "open", file);
    out.push_back(std::move(fd));
  }
  return out;
}

UniqueFd openNetns(const SpawnPlan& plan) {
  UniqueFd fd;
  if (plan.netnsPath.empty()) return fd;
  fd.reset(open(plan.netnsPath.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throwSys(errno, "open network namespace", plan.netnsPath);
  return fd;
}

Spawned spawn(const SpawnPlan& plan) {
  cgroupPrepare(plan);

  std::vector<UniqueFd> procs = openProcsFiles(plan);
  std::vector<int> procsFds;
  for (const UniqueFd& fd : procs) procsFds.push_back(fd.get());

  UniqueFd ttyParent, ttyChild;
  if (plan.tty) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) throwSys(errno, "socketpair");
    ttyParent.reset(sv[0]);
    ttyChild.reset(sv[1]);
  }

  std::vector<char*> argv = cstrings(plan.argv);
  std::vector<char*> env = cstrings(plan.env);
  ChildContext ctx{&plan, argv.data(), env.data(), procsFds.data(), static_cast<int>(procsFds.size()),
                   ttyChild.get(), {nullptr, 0, -1}, -1, nullptr, 0, -1};
  UniqueFd netns = openNetns(plan);
  ctx.netnsFd = netns.get();
  struct sock_fprog prog = {0, nullptr};
  if (plan.seccomp) {
    // built once per process; the kernel copies it at install
    static std::vector<sock_filter> filter = defaultSeccompFilter();
    prog.len = static_cast<unsigned short>(filter.size());
    prog.filter = filter.data();
    ctx.seccomp = &prog;
  }

  UniqueFd joinPidfd;
  if (plan.joinPid) {
    joinPidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, plan.joinPid, 0)));
    if (!joinPidfd.valid()) throwSys(errno, "pidfd_open", "container process " + std::to_string(plan.joinPid));
    ctx.joinPidfd = joinPidfd.get();
  }
  const size_t stacks = plan.joinPid ? 2 : 1;
  void* stack = mmap(nullptr, kChildStack * stacks, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) throwSys(errno, "mmap", "child stack");
  ctx.secondStack = static_cast<char*>(stack) + kChildStack * 2;

  // The child inherits this mask: no handler of Node's may run on the child's stack before it
  // resets every disposition.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pidfd = -1;
  pid_t pid;
  if (plan.joinPid) {
    // exec: an intermediate process joins the namespaces and starts the command as our child. It
    // shares our fd table (CLONE_FILES), so the command's pidfd lands in it.
    pid = clone(execJoinMain, static_cast<char*>(stack) + kChildStack, CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &ctx);
  } else {
    int flags = plan.cloneFlags | CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD;
    pid = clone(childMain, static_cast<char*>(stack) + kChildStack, flags, &ctx, &pidfd);
  }
  int cloneErr = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  munmap(stack, kChildStack * stacks);
  if (pid < 0) throwSys(cloneErr, "clone", "");

  if (plan.joinPid) {
    int status;
    waitpid(pid, &status, __WALL);  // the intermediate process, which has ended
    pid = ctx.execPid;
    pidfd = ctx.execPidfd;
  }
  if (ctx.failure.step) {
    if (pidfd >= 0) {
      siginfo_t info;
      waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED);
      close(pidfd);
    }
    throw ChildError{ctx.failure, failurePath(plan, ctx.failure)};
  }
  int master = -1;
  if (plan.tty) {
    try {
      master = receiveFd(ttyParent.get());
    } catch (...) {
      syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
      siginfo_t info;
      waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED);
      close(pidfd);
      throw;
    }
  }
  return Spawned{pid, pidfd, master};
}

}  // namespace berth
