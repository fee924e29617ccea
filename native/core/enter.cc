// Caller side of core/enter.h: a vfork-style trampoline that only rearranges descriptors and execs
// the sealed berth-nsenter (it never leaves the host's namespaces, so no container sees it), then
// the helper's report.
#include "core/enter.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/sealed_exe.h"
#include "core/spawn_internal.h"
#include "core/unique_fd.h"

namespace berth {
namespace {

constexpr size_t kTrampolineStack = 64 * 1024;
constexpr int kExeFd = kEnterPreservedFd - 1;  // the helper's executable, after 0, 1, 2, data, tty

struct Trampoline {
  const int* from;  // where each of berth-nsenter's descriptors 0..count-1 comes from
  int count;
  int* high;     // room for count descriptors, prepared by the parent
  int err;       // set when the exec failed
  int failedFd;  // the source whose dup failed (a --preserve-fds descriptor that is not open), or -1
};

int trampolineMain(void* arg) {
  auto* t = static_cast<Trampoline*>(arg);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &sa, nullptr);
  // Every source out of the way first (above every target), so that no target overwrites a later
  // source.
  for (int i = 0; i < t->count; i++) {
    t->high[i] = fcntl(t->from[i], F_DUPFD_CLOEXEC, t->count + 16);
    if (t->high[i] < 0) {
      t->err = errno;
      t->failedFd = t->from[i];
      _exit(127);
    }
  }
  for (int i = 0; i < t->count; i++) {
    // the executable stays close-on-exec: nothing of the host's survives into the helper
    if (dup3(t->high[i], i, i == kExeFd ? O_CLOEXEC : 0) < 0) {
      t->err = errno;
      _exit(127);
    }
  }
  syscall(SYS_close_range, static_cast<unsigned>(t->count), ~0U, 0U);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  char name[] = "berth-nsenter";
  char* argv[] = {name, nullptr};
  char* envp[] = {nullptr};
  syscall(SYS_execveat, kExeFd, "", argv, envp, AT_EMPTY_PATH);
  t->err = errno;
  _exit(127);
}

UniqueFd planMemfd(const uint8_t* encoded, size_t len) {
  UniqueFd fd(memfd_create("berth-enter", MFD_CLOEXEC));
  if (!fd.valid()) throwSys(errno, "memfd_create", "berth-enter");
  if (ftruncate(fd.get(), static_cast<off_t>(kEnterPlanOffset + len)) < 0) throwSys(errno, "ftruncate", "berth-enter");
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(fd.get(), encoded + done, len - done, static_cast<off_t>(kEnterPlanOffset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throwSys(n < 0 ? errno : EIO, "pwrite", "berth-enter");
    done += static_cast<size_t>(n);
  }
  return fd;
}

pid_t startHelper(const SpawnPlan& plan, int dataFd, int ttyFd, int exeFd) {
  // With a tty the helper puts the pty's peer on 0, 1 and 2; until then they hold the data memfd.
  const int* stdio = plan.tty ? nullptr : plan.stdio;
  std::vector<int> from = {
      stdio ? stdio[0] : dataFd, stdio ? stdio[1] : dataFd, stdio ? stdio[2] : dataFd, dataFd, ttyFd, exeFd};
  // --preserve-fds: our 3..3+N-1, as our caller handed them to us
  for (int i = 0; i < plan.preserveFds; i++) from.push_back(3 + i);
  std::vector<int> high(from.size());
  Trampoline t{from.data(), static_cast<int>(from.size()), high.data(), 0, -1};
  void* stack = mmap(nullptr, kTrampolineStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) throwSys(errno, "mmap", "trampoline stack");
  // No handler of Node's may run on the trampoline's stack before it resets every disposition.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = clone(trampolineMain, static_cast<char*>(stack) + kTrampolineStack, CLONE_VM | CLONE_VFORK | SIGCHLD, &t);
  int cloneErr = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  munmap(stack, kTrampolineStack);
  if (pid < 0) throwSys(cloneErr, "clone", "berth-nsenter");
  if (t.err) {
    waitpid(pid, nullptr, 0);
    if (t.failedFd >= 0) throwSys(t.err, "dup", "fd " + std::to_string(t.failedFd) + " passed to berth-nsenter");
    throwSys(t.err, "execveat", plan.helperPath);
  }
  return pid;
}

void reap(int pidfd) {
  siginfo_t info;
  while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED) < 0 && errno == EINTR) {
  }
}

}  // namespace

Spawned spawnInside(const SpawnPlan& plan, const uint8_t* encoded, size_t len) {
  if (plan.helperPath.empty()) throwSys(EINVAL, "spawn", "a plan for berth-nsenter without helperPath");
  int exe = sealedExecutable(plan.helperPath);
  UniqueFd data = planMemfd(encoded, len);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) throwSys(errno, "socketpair");
  UniqueFd ttyParent(sv[0]), ttyChild(sv[1]);

  pid_t helper = startHelper(plan, data.get(), ttyChild.get(), exe);
  ttyChild.reset();
  int status = 0;
  while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {
  }

  EnterReport report;
  memset(&report, 0, sizeof report);
  if (pread(data.get(), &report, sizeof report, 0) != static_cast<ssize_t>(sizeof report) ||
      report.magic != kEnterReportMagic)
    throwSys(EPROTO, "berth-nsenter",
             plan.helperPath + " ended without a report (status " + std::to_string(status) + ")");
  if (report.syscall[0]) {
    report.syscall[sizeof report.syscall - 1] = report.path[sizeof report.path - 1] = '\0';
    throwSys(report.err, report.syscall, report.path);
  }
  UniqueFd pidfd;
  if (report.pid > 0) {
    pidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, report.pid, 0)));
    // Only a child of ours is the command: anything else in the report is not to be trusted.
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (!pidfd.valid() ||
        waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd.get()), &info, WEXITED | WNOHANG | WNOWAIT) < 0)
      throwSys(ECHILD, "berth-nsenter", "reported pid " + std::to_string(report.pid));
  }
  auto step = static_cast<Step>(report.step);
  if (step != Step::kNone) {
    if (pidfd.valid()) reap(pidfd.get());
    ChildFailure f{step < Step::kCount ? step : Step::kNone, report.err, report.index};
    throw ChildError{f, failurePath(plan, f)};
  }
  if (!pidfd.valid()) throwSys(EPROTO, "berth-nsenter", "no command started");
  int master = -1;
  // a created container's master went to its console socket
  if (plan.tty && plan.consoleSocket.empty()) {
    try {
      master = receiveFd(ttyParent.get());
    } catch (...) {
      syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
      reap(pidfd.get());
      throw;
    }
  }
  return Spawned{report.pid, pidfd.release(), master};
}

}  // namespace berth
