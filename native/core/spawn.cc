// Parent side of container creation. Everything the child needs is laid out before clone; the
// child runs on a private stack in our address space and the calling thread sleeps until it has
// exec'd or failed (CLONE_VFORK), so a whole start costs one clone and no page-table copy of Node.
#include "core/spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/io.h"
#include "core/sealed_exe.h"
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
  int fd = tryReceiveFd(sock, wait);
  if (fd < 0) throwSys(-fd, "recvmsg", "pty master");
  return fd;
}

std::string failurePath(const SpawnPlan& plan, const ChildFailure& f) {
  if (f.index < 0) return f.step == Step::kMountRootfs ? plan.rootfs : f.step == Step::kChdir ? plan.cwd : "";
  size_t i = static_cast<size_t>(f.index);
  switch (f.step) {
    case Step::kExecve:
      if (!plan.initPath.empty()) return plan.initPath;
      return i < plan.execCandidates.size() ? plan.execCandidates[i] : "";
    case Step::kCreateContainerHook:
    case Step::kCreateContainerHookTimeout:
      return i < plan.createContainerHooks.size() ? plan.createContainerHooks[i].path : "";
    case Step::kJoinCgroup:
    case Step::kOpenCgroup:
      return i < plan.cgroupProcs.size() ? plan.cgroupProcs[i] : "";
    case Step::kMount:
    case Step::kMkdir:
    case Step::kMknod:
    case Step::kSymlink:
    case Step::kRemountReadOnly:
    case Step::kMountTargetInKernelFs:
    case Step::kWriteFile:
    case Step::kMountPropagation:
      return i < plan.mounts.size() ? "/" + plan.mounts[i].target : "";
    default:
      return "";
  }
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

// The filter the child installs: the plan's compiled one (an OCI config's), else berth's default.
struct sock_fprog seccompProgram(const SpawnPlan& plan) {
  struct sock_fprog prog = {0, nullptr};
  if (!plan.seccompFilter.empty()) {
    prog.len = static_cast<unsigned short>(plan.seccompFilter.size() / sizeof(sock_filter));
    // the plan's bytes are struct sock_filter[] as TypeScript laid them out; the kernel copies them
    prog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(plan.seccompFilter.data()));
  } else if (plan.seccomp) {
    // built once per process; the kernel copies it at install
    static std::vector<sock_filter> filter = defaultSeccompFilter();
    prog.len = static_cast<unsigned short>(filter.size());
    prog.filter = filter.data();
  }
  return prog;
}

// What every child is handed, prepared before clone: argv and env as C arrays, the network
// namespace to join, berth-init's sealed copy, the seccomp program; and its stack.
struct PreparedChild {
  std::vector<char*> argv, env;
  UniqueFd netns;
  struct sock_fprog prog;
  ChildContext ctx;
  void* stack;
  std::vector<std::vector<char*>> hookArgv, hookEnv;
  std::vector<ChildContext::HookExec> hooks;

  PreparedChild(const SpawnPlan& plan, const std::vector<int>& procsFds, int ttySocket)
      : argv(cstrings(plan.argv)),
        env(cstrings(plan.env)),
        netns(openNetns(plan)),
        prog(seccompProgram(plan)),
        ctx{&plan,     argv.data(),         env.data(), procsFds.data(), static_cast<int>(procsFds.size()),
            ttySocket, {Step::kNone, 0, -1}} {
    ctx.netnsFd = netns.get();
    if (!plan.initPath.empty()) ctx.initFd = sealedExecutable(plan.initPath);
    if (prog.len) ctx.seccomp = &prog;
    for (const SpawnPlan::Hook& h : plan.createContainerHooks) {
      hookArgv.push_back(cstrings(h.args));
      hookEnv.push_back(cstrings(h.env));
    }
    for (size_t i = 0; i < plan.createContainerHooks.size(); i++)
      hooks.push_back({plan.createContainerHooks[i].path.c_str(), hookArgv[i].data(), hookEnv[i].data(),
                       plan.createContainerHooks[i].timeout});
    ctx.hooks = hooks.data();
    ctx.hookCount = static_cast<int>(hooks.size());
    stack = mmap(nullptr, kChildStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) throwSys(errno, "mmap", "child stack");
  }
  ~PreparedChild() { munmap(stack, kChildStack); }
  PreparedChild(const PreparedChild&) = delete;
  PreparedChild& operator=(const PreparedChild&) = delete;
  char* stackTop() const { return static_cast<char*>(stack) + kChildStack; }
};

Spawned spawn(const SpawnPlan& plan) {
  // Joining a running container is berth-nsenter's job (core/enter.h): a clone of this process
  // would be visible inside the container while it still shares our memory.
  if (plan.joinPid) throwSys(EINVAL, "spawn", "a plan that joins a running container needs spawnInside");
  // ... and so would one outside a PID namespace of its own (core/spawn.h startsThroughHelper).
  if (startsThroughHelper(plan))
    throwSys(EINVAL, "spawn", "a plan without a new PID namespace of its own needs spawnInside");
  // Both need a parent that is not suspended in vfork (the maps) or holds the caller's fds: berth-nsenter.
  if (plan.cloneFlags & CLONE_NEWUSER) throwSys(EINVAL, "spawn", "a new user namespace needs spawnInside");
  if (plan.preserveFds) throwSys(EINVAL, "spawn", "preserveFds needs spawnInside");
  // (they fork: the child of a CLONE_VM spawn must not)
  if (!plan.createContainerHooks.empty()) throwSys(EINVAL, "spawn", "createContainer hooks need spawnInside");
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

  PreparedChild child(plan, procsFds, ttyChild.get());
  ChildContext& ctx = child.ctx;

  // The child inherits this mask: no handler of Node's may run on the child's stack before it
  // resets every disposition.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pidfd = -1;
  // The child is the first process of a new PID namespace: nothing in the container exists to
  // see it while it shares our memory.
  int flags = plan.cloneFlags | CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD;
  pid_t pid = clone(childMain, child.stackTop(), flags, &ctx, &pidfd);
  int cloneErr = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) throwSys(cloneErr, "clone", "");

  if (ctx.failure.step != Step::kNone) {
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

void joinCreatedCgroup(const SpawnPlan& plan) {
  cgroupPrepare(plan);
  // The init is born in the cgroup: a process that joins an existing PID namespace is visible there
  // from its clone on, and must not hold the host's cgroupfs files even for the instant before it
  // could close them.
  for (UniqueFd& fd : openProcsFiles(plan))
    if (write(fd.get(), "0", 1) < 0) throwSys(errno, "join cgroup", "");
}

namespace {

void writeProcFile(pid_t pid, const char* name, const std::string& text) {
  std::string file = "/proc/" + std::to_string(pid) + "/" + name;
  UniqueFd fd(open(file.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) throwSys(errno, "open", file);
  // one write: the kernel takes a map only whole
  if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) throwSys(errno, "write", file);
}

// What the child of a new user namespace cannot do for itself, done while it waits: its id maps
// (we are root in the parent namespace, so no newuidmap; setgroups stays "allow", so the container
// may set its additional groups), and the limits only the host's CAP_SYS_RESOURCE may raise (the
// child sets the same values again, which is no raise).
void prepareUserns(pid_t pid, const SpawnPlan& plan) {
  writeProcFile(pid, "uid_map", plan.uidMap);
  writeProcFile(pid, "gid_map", plan.gidMap);
  for (const SpawnPlan::Rlimit& l : plan.rlimits) {
    struct rlimit64 value = {l.soft, l.hard};
    if (syscall(SYS_prlimit64, pid, l.resource, &value, nullptr) < 0)
      throwSys(errno, "prlimit", "resource " + std::to_string(l.resource));
  }
  if (!plan.oomScoreAdj.empty()) writeProcFile(pid, "oom_score_adj", plan.oomScoreAdj);
}

}  // namespace

pid_t spawnCreated(const SpawnPlan& plan, int consoleSocket, int execFifoFd) {
  const std::vector<int> procsFds;  // none: joinCreatedCgroup put us in the cgroup already
  int sv[2];
  if (pipe2(sv, O_CLOEXEC) < 0) throwSys(errno, "pipe2", "status");
  UniqueFd statusRead(sv[0]), statusWrite(sv[1]);
  const bool newUserns = plan.cloneFlags & CLONE_NEWUSER;
  UniqueFd syncRead, syncWrite;
  if (newUserns) {
    if (pipe2(sv, O_CLOEXEC) < 0) throwSys(errno, "pipe2", "user namespace sync");
    syncRead.reset(sv[0]);
    syncWrite.reset(sv[1]);
  }

  PreparedChild child(plan, procsFds, consoleSocket);
  child.ctx.statusFd = statusWrite.get();
  child.ctx.execFifoFd = execFifoFd;
  child.ctx.usernsSyncFd = syncRead.get();
  child.ctx.usernsSyncWriteFd = syncWrite.get();
  child.ctx.inUserns = newUserns;
  for (const auto& [flag, path] : plan.joinNamespaces) child.ctx.inUserns |= flag == CLONE_NEWUSER;
  // No CLONE_VM: the init waits for `start` long after we are gone, in memory of its own (a copy
  // of this small process's, never Node's). CLONE_PARENT: our caller's child, so that whoever
  // waits for containers (conmon, containerd's shim, `berth-oci run`) can reap it. CLONE_NEWUSER
  // comes with the other new namespaces, which the new user namespace then owns.
  pid_t pid = clone(childMain, child.stackTop(), plan.cloneFlags | CLONE_PARENT | SIGCHLD, &child.ctx);
  int cloneErr = errno;
  if (pid < 0) throwSys(cloneErr, "clone", "");
  statusWrite.reset();
  if (newUserns) {
    syncRead.reset();
    try {
      prepareUserns(pid, plan);
    } catch (const SysError&) {
      kill(pid, SIGKILL);  // still waiting on the pipe: the pid is its own
      throw;
    }
    if (write(syncWrite.get(), "1", 1) != 1) throwSys(errno, "write", "user namespace sync");
    syncWrite.reset();
  }

  ChildFailure record = {Step::kNone, 0, -1};
  ssize_t n;
  do n = read(statusRead.get(), &record, sizeof record);
  while (n < 0 && errno == EINTR);
  if (n == 0 && execFifoFd < 0) {
    // no exec fifo: the init execs at once, and its execve closed the pipe
  } else if (n != static_cast<ssize_t>(sizeof record)) {
    // killed before it could say anything
    record = {Step::kClone, n < 0 ? errno : EPIPE, -1};
  }
  if (record.step != Step::kNone) throw CreatedError{pid, ChildError{record, failurePath(plan, record)}};
  return pid;
}

}  // namespace berth
