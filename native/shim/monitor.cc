#include "shim/monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/enter.h"
#include "core/unique_fd.h"
#include "shim/cleanup.h"
#include "shim/events.h"
#include "shim/json.h"

namespace berth::shim {
namespace {

constexpr unsigned kFirstBackoffMs = 100;
constexpr unsigned kMaxBackoffMs = 5000;
// A run this long was a success of sorts: the next restart starts from the first delay again.
constexpr long kStableRunSeconds = 10;
// Client input queued for the container's stdin before clients are no longer read.
constexpr size_t kMaxStdinQueued = 64 * 1024;
// The launcher's end of a socketpair, inherited for `attached=1` (main.cc keeps it open).
constexpr int kAttachedClientFd = 4;

struct timespec monotonicNow() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t;
}

long long millisSince(const struct timespec& t0) {
  struct timespec t = monotonicNow();
  return (t.tv_sec - t0.tv_sec) * 1000LL + (t.tv_nsec - t0.tv_nsec) / 1000000;
}

void setNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

std::string sanitize(std::string s) {
  for (char& c : s)
    if (c == '\t' || c == '\n') c = ' ';
  return s;
}

StartError fromSpawn(const SysError& e) { return StartError{e.syscall, e.err, -1, e.path}; }
StartError fromSpawn(const ChildError& e) {
  return StartError{e.failure.step != Step::kNone ? stepName(e.failure.step) : "spawn", e.failure.err, e.failure.index,
                    e.path, e.failure.step};
}

}  // namespace

std::string errorLine(const StartError& e) {
  return "err " + sanitize(e.step) + "\t" + std::to_string(e.err) + "\t" + std::to_string(e.index) + "\t" +
         sanitize(e.path) + "\n";
}

void reportStatus(int fd, const std::string& line) {
  if (fd < 0) return;
  const char* p = line.data();
  size_t n = line.size();
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {  // a non-blocking pipe that is full: wait, but not forever
      struct pollfd out = {fd, POLLOUT, 0};
      if (poll(&out, 1, 5000) > 0) continue;
    }
    if (w <= 0) break;  // the launcher is gone (EPIPE; SIGPIPE is ignored): nobody to tell
    p += w;
    n -= static_cast<size_t>(w);
  }
  close(fd);
}

Monitor::Monitor(Config config, SpawnPlan plan)
    : config_(std::move(config)),
      plan_(std::move(plan)),
      log_(config_.log, config_.logMaxSize, config_.logMaxFiles),
      shimPid_(getpid()) {
  // If the shim dies the container dies too, so that a recorded 'running' is never a lie that
  // outlives its witness.
  plan_.parentDeathSignal = SIGKILL;
  out_.tap = [this](const char* d, size_t n) { attach_.broadcast(kFrameStdout, d, n); };
  err_.tap = [this](const char* d, size_t n) { attach_.broadcast(kFrameStderr, d, n); };
}

int Monitor::run(int statusFd) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  signalFd_ = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  devNull_ = open("/dev/null", O_RDWR | O_CLOEXEC);
  StartError failure{"", 0, -1, ""};
  if (signalFd_ < 0) {
    failure = StartError{"signalfd", errno, -1, ""};
  } else if (devNull_ < 0) {
    failure = StartError{"open", errno, -1, "/dev/null"};
  } else if (int err = log_.open()) {
    failure = StartError{"open", err, -1, config_.log};
  } else if (int err = config_.attachSocket.empty() ? 0 : attach_.listen(config_.attachSocket)) {
    failure = StartError{"listen", err, -1, config_.attachSocket};
  } else {
    // Before the container starts: this client sees its output from the first byte.
    if (config_.attached) attach_.adopt(kAttachedClientFd, true);
    oomSeen_ = oomCount();
    try {
      start();
    } catch (const SysError& e) {
      failure = fromSpawn(e);
    } catch (const ChildError& e) {
      failure = fromSpawn(e);
    }
  }
  if (!failure.step.empty()) {
    // Nothing of this start may outlive the report: the launcher checks the host right after.
    removeCgroupDirs(config_.cgroupDirs);
    attach_.shutdown(0);
    reportStatus(statusFd, errorLine(failure));
    return 1;
  }
  // The state is ours from the start (with shimPid), written before the launcher hears `ok`.
  writeState(config_.state, run_, restarts_, shimPid_, nullptr);
  reportStatus(statusFd, "ok " + std::to_string(run_.pid) + " " + std::to_string(run_.startTime) + "\n");

  unsigned delay = kFirstBackoffMs;
  for (;;) {
    waitForExit();
    out_.pump(log_, true);
    err_.pump(log_, true);
    ExitInfo exit;
    exit.exitCode = WIFSIGNALED(waitStatus_) ? 128 + WTERMSIG(waitStatus_) : WEXITSTATUS(waitStatus_);
    unsigned long long oom = oomCount();
    exit.oomKilled = oom > oomSeen_;  // the counter survives restarts: only an increase is this run's
    oomSeen_ = oom;
    exit.finishedAt = isoMillis(realtimeNow());
    appendEvent(config_.eventJournal, config_.eventDie, exit.exitCode);
    if (!shouldRestart(exit.exitCode)) {
      finish(exit);
      return 0;
    }
    writeState(config_.state, run_, restarts_, shimPid_, &exit);
    if (millisSince(startedMono_) >= kStableRunSeconds * 1000) delay = kFirstBackoffMs;
    if (!backoff(delay)) {
      finish(exit);
      return 0;
    }
    delay = delay * 2 > kMaxBackoffMs ? kMaxBackoffMs : delay * 2;
    StartError failed{"", 0, -1, ""};
    try {
      start();
    } catch (const SysError& e) {
      failed = fromSpawn(e);
    } catch (const ChildError& e) {
      failed = fromSpawn(e);
    }
    if (!failed.step.empty()) {
      exit.exitCode = startFailureStatus(failed.childStep, failed.err);
      exit.oomKilled = false;
      exit.error =
          "restart: " + failed.step + (failed.path.empty() ? "" : " " + failed.path) + ": " + strerror(failed.err);
      exit.finishedAt = isoMillis(realtimeNow());
      finish(exit);
      return 0;
    }
    restarts_++;
    writeState(config_.state, run_, restarts_, shimPid_, nullptr);
    appendEvent(config_.eventJournal, config_.eventStart, 0);
  }
}

void Monitor::start() {
  UniqueFd outRead, outWrite, errRead, errWrite;
  if (!plan_.tty) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) throwSys(errno, "pipe2", "stdout");
    outRead.reset(fds[0]);
    outWrite.reset(fds[1]);
    if (pipe2(fds, O_CLOEXEC) < 0) throwSys(errno, "pipe2", "stderr");
    errRead.reset(fds[0]);
    errWrite.reset(fds[1]);
    plan_.stdio[0] = devNull_;
    if (config_.stdinOpen && !stdinEof_) {
      if (pipe2(fds, O_CLOEXEC) < 0) throwSys(errno, "pipe2", "stdin");
      plan_.stdio[0] = fds[0];
      stdin_.reset(fds[1]);
    }
    plan_.stdio[1] = outWrite.get();
    plan_.stdio[2] = errWrite.get();
  }
  // The host's PID namespace, or another container's (core/spawn.h startsThroughHelper): through
  // berth-nsenter (core/enter.h), from the plan file's bytes (stdio is ours, startHelper hands it over).
  Spawned s;
  if (!startsThroughHelper(plan_)) {
    s = spawn(plan_);
  } else {
    std::string bytes;
    try {
      bytes = readWholeFile(config_.plan, "plan");
    } catch (const StartError& e) {
      throwSys(e.err, "read", config_.plan);
    }
    s = spawnInside(plan_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  close(s.pidfd);  // SIGCHLD tells of every exit, the container's and any reparented process's
  startedMono_ = monotonicNow();
  run_.pid = s.pid;
  run_.startTime = processStartTime(s.pid);  // a zombie until we reap it: always readable
  run_.startedAt = isoMillis(realtimeNow());
  exited_ = false;
  if (plan_.tty) {
    out_.fd = s.ptyMaster;
  } else {
    out_.fd = outRead.release();
    err_.fd = errRead.release();
  }
  if (out_.fd >= 0) setNonBlocking(out_.fd);
  if (err_.fd >= 0) setNonBlocking(err_.fd);
}

void Monitor::waitForExit() {
  std::vector<struct pollfd> fds;
  while (!exited_) {
    fds.clear();
    fds.push_back({signalFd_, POLLIN, 0});
    // A slow attach client holds the container's output back, as a terminal would.
    bool reading = !attach_.congested();
    int outAt = -1, errAt = -1, inAt = -1;
    if (out_.fd >= 0 && reading) {
      outAt = static_cast<int>(fds.size());
      fds.push_back({out_.fd, POLLIN, 0});
    }
    if (err_.fd >= 0 && reading) {
      errAt = static_cast<int>(fds.size());
      fds.push_back({err_.fd, POLLIN, 0});
    }
    if (!stdinPending_.empty() && stdinFd() >= 0) {
      inAt = static_cast<int>(fds.size());
      fds.push_back({stdinFd(), POLLOUT, 0});
    }
    size_t attachAt = fds.size();
    attach_.pollFds(fds, stdinPending_.size() < kMaxStdinQueued);
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno != EINTR) reapChildren();  // cannot happen with valid fds; never spin blindly
      continue;
    }
    if (outAt >= 0 && fds[outAt].revents) out_.pump(log_, false);
    if (errAt >= 0 && fds[errAt].revents) err_.pump(log_, false);
    if (inAt >= 0 && fds[inAt].revents) writeStdin();
    attach_.handle(fds, attachAt, [this](uint8_t type, const std::string& p, bool owner) { onInput(type, p, owner); });
    if (fds[0].revents) reapChildren();
  }
  stdin_.reset();  // the next run gets a pipe of its own
  stdinPending_.clear();
}

int Monitor::stdinFd() const {
  if (!config_.stdinOpen) return -1;
  return plan_.tty ? out_.fd : stdin_.get();
}

void Monitor::onInput(uint8_t type, const std::string& payload, bool owner) {
  if (type == kFrameOutputClosed && owner && !plan_.tty) {
    LogStream& s = payload == "2" ? err_ : out_;
    s.pump(log_, false);  // what the pipe holds still goes to the log
    s.flush(log_);
    s.close();
  } else if (type == kFrameStdin && stdinFd() >= 0) {
    stdinPending_ += payload;
    writeStdin();
  } else if (type == kFrameStdinEof && config_.stdinOnce && !plan_.tty) {
    stdinEof_ = true;
    if (stdinPending_.empty()) stdin_.reset();
  } else if (type == kFrameResize && plan_.tty && out_.fd >= 0) {
    struct winsize ws = {};
    unsigned rows = 0, cols = 0;
    if (sscanf(payload.c_str(), "%u %u", &rows, &cols) == 2 && rows > 0 && cols > 0 && rows < 65536 && cols < 65536) {
      ws.ws_row = static_cast<unsigned short>(rows);
      ws.ws_col = static_cast<unsigned short>(cols);
      ioctl(out_.fd, TIOCSWINSZ, &ws);
    }
  }
}

void Monitor::writeStdin() {
  int fd = stdinFd();
  while (fd >= 0 && !stdinPending_.empty()) {
    ssize_t w = write(fd, stdinPending_.data(), stdinPending_.size());
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (w <= 0) {
      stdinPending_.clear();  // the container closed its stdin: what it did not read is dropped
      break;
    }
    stdinPending_.erase(0, static_cast<size_t>(w));
  }
  if (stdinEof_ && stdinPending_.empty()) stdin_.reset();
}

void Monitor::reapChildren() {
  struct signalfd_siginfo info[8];
  while (read(signalFd_, info, sizeof info) > 0) {
  }
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) break;
    if (pid == run_.pid && !exited_) {
      exited_ = true;
      waitStatus_ = status;
    }
  }
}

// The stop marker, or a container directory that is gone: an rm between two restarts (the
// container exited, the shim waiting out its backoff) must not bring a removed container back.
bool Monitor::stopRequested() const {
  if (config_.stopMarker.empty()) return false;
  if (pathExists(config_.stopMarker)) return true;
  size_t slash = config_.stopMarker.rfind('/');
  return slash != std::string::npos && slash > 0 && !pathExists(config_.stopMarker.substr(0, slash));
}

bool Monitor::shouldRestart(int exitCode) const {
  if (stopRequested()) return false;
  switch (config_.restart) {
    case RestartPolicy::kNo:
      return false;
    case RestartPolicy::kAlways:
    case RestartPolicy::kUnlessStopped:
      return true;
    case RestartPolicy::kOnFailure:
      return exitCode != 0 && (config_.restartMax == 0 || restarts_ < config_.restartMax);
  }
  return false;
}

bool Monitor::backoff(unsigned ms) {
  struct timespec t0 = monotonicNow();
  for (;;) {
    long long left = static_cast<long long>(ms) - millisSince(t0);
    if (left <= 0) break;
    struct pollfd fd = {signalFd_, POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(left)) > 0) reapChildren();
  }
  return !stopRequested();
}

unsigned long long Monitor::oomCount() const {
  char buf[4096];
  if (config_.oomFile.empty() || !readSmallFile(config_.oomFile.c_str(), buf, sizeof buf)) return 0;
  const std::string& key = config_.oomKey;
  for (char* line = buf; line && *line;) {
    char* next = strchr(line, '\n');
    if (next) *next++ = '\0';
    if (strncmp(line, key.c_str(), key.size()) == 0 && line[key.size()] == ' ')
      return strtoull(line + key.size() + 1, nullptr, 10);
    line = next;
  }
  return 0;
}

void Monitor::finish(const ExitInfo& exit) {
  reapChildren();
  removeCgroupDirs(config_.cgroupDirs);
  // After the cgroups: whoever sees 'exited' may count on them being gone.
  writeState(config_.state, run_, restarts_, shimPid_, &exit);
  std::string released = config_.removeDir.empty() ? "" : releaseContainerDir(config_.removeDir, config_.nameLink);
  if (!config_.removeDir.empty()) appendEvent(config_.eventJournal, config_.eventDestroy, exit.exitCode);
  // Last to attached clients: the exit, once the container is gone from the store (run --rm
  // returns then); deleting its files, the slow part, comes after.
  std::string code = std::to_string(exit.exitCode) + (exit.oomKilled ? " 1" : " 0");
  attach_.broadcast(kFrameExit, code.data(), code.size());
  // A foreground CLI that has the exit does the exit command's work itself: no Node started here.
  bool handedOver = attach_.shutdown(5000);
  deleteContainerDir(released);
  if (!handedOver) runExitCommand();
}

void Monitor::runExitCommand() {
  if (config_.exitCommand.empty()) return;
  std::vector<std::string> args(config_.exitCommand);
  args.push_back(std::to_string(getpid()));
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Not waited for: it waits for this shim to be gone, then does its work; stdio is /dev/null
  // and the session is the shim's own (see detach in main.cc).
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
}

}  // namespace berth::shim
