// berth-nsenter: joins a running container and starts one command in it (core/enter.h says why it
// is a process of its own). Started only by core/enter.cc, from a sealed memfd, with
//   0, 1, 2  the command's stdio (ignored with a tty)
//   3        memfd: the EnterReport page, then the encoded plan at kEnterPlanOffset
//   4        a socket for the pty master
// and an empty environment. Everything it knows of the caller is the plan.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/enter.h"
#include "core/io.h"
#include "core/plan_codec.h"
#include "core/seccomp.h"
#include "core/spawn_internal.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

namespace {

using berth::Step;

berth::EnterReport* report = nullptr;
int consoleFd = -1;  // exec with --console-socket, connected before entering the container

[[noreturn]] void finishSys(const berth::SysError& e) {
  if (report) {
    snprintf(report->syscall, sizeof report->syscall, "%s", e.syscall.c_str());
    snprintf(report->path, sizeof report->path, "%s", e.path.c_str());
    report->err = e.err;
    report->step = static_cast<uint32_t>(Step::kNone);
    report->magic = berth::kEnterReportMagic;
  }
  _exit(1);
}

[[noreturn]] void finish(Step step, int err, int index = -1, pid_t pid = 0) {
  if (report) {
    report->pid = pid;
    report->err = err;
    report->index = index;
    report->step = static_cast<uint32_t>(step);
    report->magic = berth::kEnterReportMagic;
  }
  _exit(step == Step::kNone ? 0 : 1);
}

std::vector<uint8_t> readPlan() {
  struct stat st;
  if (fstat(berth::kEnterDataFd, &st) < 0 || st.st_size < static_cast<off_t>(berth::kEnterPlanOffset)) _exit(2);
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size) - berth::kEnterPlanOffset);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = pread(berth::kEnterDataFd, bytes.data() + done, bytes.size() - done,
                      static_cast<off_t>(berth::kEnterPlanOffset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(2);
    done += static_cast<size_t>(n);
  }
  return bytes;
}

void joinCgroup(const berth::SpawnPlan& plan) {
  int index = 0;
  for (const std::string& file : plan.cgroupProcs) {
    int fd = open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) finish(Step::kOpenCgroup, errno, index);
    if (write(fd, "0", 1) < 0) finish(Step::kJoinCgroup, errno, index);
    close(fd);
    index++;
  }
}

void joinNamespaces(const berth::SpawnPlan& plan) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, plan.joinPid, 0));
  if (pidfd < 0) finish(Step::kPidfdOpen, errno);
  // The pid namespace applies to our children only: this process itself never enters it.
  int flags = plan.cloneFlags | (plan.unshareCgroup ? CLONE_NEWCGROUP : 0);
  if (setns(pidfd, flags) < 0) finish(Step::kSetns, errno);
  close(pidfd);
}

// The caller's --console-socket: where a pty master goes instead of back to the caller.
int connectConsole(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) finish(Step::kConsoleSocket, ENAMETOOLONG);
  memcpy(addr.sun_path, path.data(), path.size());
  if (fd < 0 || connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
    finish(Step::kConsoleSocket, errno);
  return fd;
}

// The pty is the container's (its /dev/pts): opened here, inside its mount namespace, the master
// sent to the caller, the peer left on 0, 1 and 2 for the command.
void openTty(const berth::SpawnPlan& plan) {
  int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) finish(Step::kOpenPtmx, errno);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) finish(Step::kUnlockpt, errno);
  struct winsize ws;
  memset(&ws, 0, sizeof ws);
  ws.ws_row = plan.ttyRows;
  ws.ws_col = plan.ttyCols;
  ioctl(master, TIOCSWINSZ, &ws);
  int peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (peer < 0) finish(Step::kOpenPtyPeer, errno);
  // before joining the mount namespace, a console socket path is the host's: connected in main
  int to = plan.consoleSocket.empty() ? berth::kEnterTtyFd : consoleFd;
  if (int err = berth::sendFd(to, master)) finish(Step::kSendPtyMaster, err);
  if (to != berth::kEnterTtyFd) close(to);
  close(master);
  for (int i = 0; i < 3; i++)
    if (dup2(peer, i) < 0) finish(Step::kDup2, errno);
  close(peer);
}

// The OCI create: join what the config names by path, reach the console socket, hold the exec
// fifo, and start the init that waits for `start` (core/spawn.h spawnCreated).
[[noreturn]] void createMain(const berth::SpawnPlan& plan) {
  // The host's cgroupfs first, while we are still the host's root; then the namespaces, in the
  // plan's order (a user namespace first: the others are joined with its privileges).
  try {
    berth::joinCreatedCgroup(plan);
  } catch (const berth::SysError& e) {
    finishSys(e);
  }
  for (const auto& [flag, path] : plan.joinNamespaces) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) finish(Step::kJoinNamespace, errno);
    if (setns(fd, flag) < 0) finish(Step::kJoinNamespace, errno);
    close(fd);
  }
  int console = -1;
  if (!plan.consoleSocket.empty()) {
    console = connectConsole(plan.consoleSocket);
    close(berth::kEnterTtyFd);
  } else if (plan.tty) {
    console = berth::kEnterTtyFd;  // the master goes back to the caller
  } else {
    close(berth::kEnterTtyFd);
  }
  // Without an exec fifo (a `berth run` start that joins another container's PID or IPC
  // namespace) the init execs at once, and the report follows its execve.
  int fifo = -1;
  if (!plan.execFifoPath.empty()) {
    // Made here, not by the caller: Node has no mkfifo, and a second process for it costs more.
    // 0622 whatever the umask: the init may be an unprivileged user by the time it opens it
    if (mkfifo(plan.execFifoPath.c_str(), 0622) < 0 || chmod(plan.execFifoPath.c_str(), 0622) < 0)
      finish(Step::kExecFifo, errno);
    fifo = open(plan.execFifoPath.c_str(), O_PATH | O_CLOEXEC);
    if (fifo < 0) finish(Step::kExecFifo, errno);
  }
  try {
    pid_t pid = berth::spawnCreated(plan, console, fifo);
    finish(Step::kNone, 0, -1, pid);
  } catch (const berth::SysError& e) {
    finishSys(e);
  } catch (const berth::CreatedError& e) {
    finish(e.error.failure.step, e.error.failure.err, e.error.failure.index, e.pid);
  }
}

int commandMain(void* arg) {
  berth::execCommand(static_cast<berth::ChildContext*>(arg), *static_cast<berth::ChildContext*>(arg)->plan);
}

}  // namespace

int main() {
  // Before anything of the container can see us: no /proc/PID/{mem,environ,fd,exe} for root in it
  // (without CAP_SYS_PTRACE), and the command's process inherits it until its execve.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) _exit(2);
  void* page = mmap(nullptr, berth::kEnterPlanOffset, PROT_READ | PROT_WRITE, MAP_SHARED, berth::kEnterDataFd, 0);
  if (page == MAP_FAILED) _exit(2);
  report = static_cast<berth::EnterReport*>(page);
  berth::SpawnPlan plan;
  try {
    std::vector<uint8_t> bytes = readPlan();
    plan = berth::decodePlan(bytes.data(), bytes.size());
  } catch (const berth::PlanFormatError&) {
    finish(Step::kDecodePlan, EINVAL);
  }
  close(berth::kEnterDataFd);
  // The caller put the command's stdio on our 0, 1 and 2 (core/enter.cc startHelper): the plan's
  // numbers are the caller's descriptors.
  for (int i = 0; i < 3; i++) plan.stdio[i] = i;
  if (plan.joinPid <= 0) createMain(plan);

  if (!plan.consoleSocket.empty()) consoleFd = connectConsole(plan.consoleSocket);
  joinCgroup(plan);
  joinNamespaces(plan);
  if (plan.tty) openTty(plan);
  close(berth::kEnterTtyFd);
  // The command is born with 0, 1 and 2 and nothing else of ours (but --preserve-fds', which it
  // moves down to 3..3+N-1 itself).
  if (syscall(SYS_close_range, 3U, static_cast<unsigned>(berth::kEnterPreservedFd - 1), 0U) < 0 ||
      syscall(SYS_close_range, static_cast<unsigned>(berth::kEnterPreservedFd + plan.preserveFds), ~0U, 0U) < 0)
    finish(Step::kCloseRange, errno);

  std::vector<sock_filter> filter;
  struct sock_fprog prog = {0, nullptr};
  std::vector<char*> argv = berth::cstrings(plan.argv);
  std::vector<char*> env = berth::cstrings(plan.env);
  berth::ChildContext ctx{&plan, argv.data(), env.data(), nullptr, 0, -1, {Step::kNone, 0, -1}};
  ctx.stdioReady = true;
  // The plan's compiled program (a profile's: --security-opt seccomp=FILE, an OCI config's
  // linux.seccomp) over berth's default, as the start's child installs them (core/spawn.cc).
  if (!plan.seccompFilter.empty()) {
    prog.len = static_cast<unsigned short>(plan.seccompFilter.size() / sizeof(sock_filter));
    prog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(plan.seccompFilter.data()));
    ctx.seccomp = &prog;
  } else if (plan.seccomp) {
    filter = berth::defaultSeccompFilter();
    prog.len = static_cast<unsigned short>(filter.size());
    prog.filter = filter.data();
    ctx.seccomp = &prog;
  }
  void* stack =
      mmap(nullptr, berth::kChildStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) finish(Step::kClone, errno);
  // CLONE_PARENT: the command is the caller's child (the caller reaps it and gets its status);
  // CLONE_VFORK: we report once it has exec'd or failed.
  pid_t pid =
      clone(commandMain, static_cast<char*>(stack) + berth::kChildStack, CLONE_VM | CLONE_VFORK | CLONE_PARENT, &ctx);
  if (pid < 0) finish(Step::kClone, errno);
  finish(ctx.failure.step, ctx.failure.err, ctx.failure.index, pid);
}
