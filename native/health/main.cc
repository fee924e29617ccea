// berth-health CONFIG_FILE: the health check monitor of one running container (docker's
// HEALTHCHECK). Started detached by Node when a container with a health check starts (foreground
// or under berth-shim), it lives as long as the container: every interval it runs the check inside
// the container the way `berth exec` does (berth-nsenter from a sealed memfd, with the exec plan
// Node encoded: nothing of the host's enters the container), kills a check that exceeds the
// timeout, and rewrites health.json in docker's State.Health shape. It exits when the container's
// process ends, unless the same shim restarts it (state.json then names the new process). It is
// not the container's parent: killing it does nothing to the container.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/enter.h"
#include "core/errors.h"
#include "core/plan_codec.h"
#include "core/unique_fd.h"
#include "health/config.h"
#include "health/status.h"
#include "shim/config.h"
#include "shim/json.h"

namespace {

using berth::UniqueFd;
using berth::health::Config;
using berth::health::Probe;

uint64_t monotonicMs() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000 + static_cast<uint64_t>(t.tv_nsec) / 1000000;
}

unsigned long long processStartTime(pid_t pid) {
  std::string file = "/proc/" + std::to_string(pid) + "/stat";
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  char* p = strrchr(buf, ')');
  if (!p) return 0;
  p++;
  // a zombie has ended (its parent just has not reaped it yet)
  if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X')) return 0;
  for (int field = 2; field < 22; field++) {
    while (*p == ' ') p++;
    if (field == 21) break;
    while (*p && *p != ' ') p++;
  }
  return strtoull(p, nullptr, 10);
}

// A pidfd for pid if it is still the process that started at startTime, else -1.
int openProcess(pid_t pid, uint64_t startTime) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return -1;
  // checked after the open: the pidfd now names this process for good
  if (processStartTime(pid) != startTime) {
    close(fd);
    return -1;
  }
  return fd;
}

// The number after "key": in state.json (written by berth-shim or Node; flat, no nesting).
long long jsonNumber(const std::string& text, const char* key) {
  std::string k = std::string("\"") + key + "\":";
  size_t at = text.find(k);
  if (at == std::string::npos) return -1;
  return strtoll(text.c_str() + at + k.size(), nullptr, 10);
}

struct Running {
  pid_t pid;
  uint64_t startTime;
  pid_t shimPid;                 // 0: no shim (a foreground container), nobody restarts it
  unsigned long long shimStart;  // the shim's start time when the monitor started
};

bool readState(const std::string& path, Running& out) {
  std::string text;
  try {
    text = berth::shim::readWholeFile(path, "state");
  } catch (const berth::shim::StartError&) {
    return false;
  }
  if (text.find("\"status\":\"running\"") == std::string::npos) return false;
  long long pid = jsonNumber(text, "pid"), start = jsonNumber(text, "pidStartTime"), shim = jsonNumber(text, "shimPid");
  if (pid <= 0 || start < 0) return false;
  out = Running{static_cast<pid_t>(pid), static_cast<uint64_t>(start), shim > 0 ? static_cast<pid_t>(shim) : 0, 0};
  return true;
}

// After the container's process ended: the same shim may restart it (a restart policy). Waits for
// state.json to name a new running process while that shim lives; false when there is none.
bool followRestart(const Config& c, Running& current, int& pidfd) {
  if (current.shimPid == 0 || current.shimStart == 0) return false;
  for (;;) {
    Running next{};
    bool running = readState(c.state, next);
    if (running && next.shimPid == current.shimPid &&
        (next.pid != current.pid || next.startTime != current.startTime)) {
      int fd = openProcess(next.pid, next.startTime);
      if (fd >= 0) {
        close(pidfd);
        pidfd = fd;
        current.pid = next.pid;
        current.startTime = next.startTime;
        return true;
      }
    }
    // state.json gone (rm), or the shim ended: the container will not come back under it
    struct stat st;
    if (stat(c.state.c_str(), &st) < 0 || processStartTime(current.shimPid) != current.shimStart) return false;
    usleep(50 * 1000);
  }
}

// The check's exit: 128 + signal for a killed one, as a shell reports it.
int reap(int pidfd) {
  siginfo_t info;
  memset(&info, 0, sizeof info);
  while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED) < 0) {
    if (errno != EINTR) return -1;
  }
  return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
}

void appendOutput(std::string& out, const char* data, size_t n) {
  size_t keep = std::min(n, berth::health::kMaxOutput - std::min(out.size(), berth::health::kMaxOutput));
  out.append(data, keep);
}

// Runs the check once inside the container whose init is `pid`.
Probe runCheck(const Config& c, std::vector<uint8_t> bytes, size_t pidOffset, pid_t pid) {
  Probe probe{berth::shim::realtimeNow(), {}, -1, ""};
  // The one field that changes across restarts: the process whose namespaces the check joins.
  double joinPid = static_cast<double>(pid);
  memcpy(bytes.data() + pidOffset, &joinPid, sizeof joinPid);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    probe.output = std::string("pipe: ") + strerror(errno);
    probe.end = berth::shim::realtimeNow();
    return probe;
  }
  UniqueFd readEnd(fds[0]), writeEnd(fds[1]);
  UniqueFd null(open("/dev/null", O_RDONLY | O_CLOEXEC));
  UniqueFd check;
  try {
    berth::SpawnPlan plan = berth::decodePlan(bytes.data(), bytes.size());
    if (plan.joinPid != pid) throw berth::PlanFormatError{"joinPid"};
    // our own descriptors for its stdio: /dev/null in, the pipe out
    plan.stdio[0] = null.get();
    plan.stdio[1] = plan.stdio[2] = writeEnd.get();
    plan.tty = false;
    berth::Spawned s = berth::spawnInside(plan, bytes.data(), bytes.size());
    check.reset(s.pidfd);
  } catch (const berth::SysError& e) {
    probe.output = e.syscall + " " + e.path + ": " + strerror(e.err);
  } catch (const berth::ChildError& e) {
    probe.output = "exec " + e.path + ": " + strerror(e.failure.err);
  } catch (const berth::PlanFormatError& e) {
    probe.output = "the health check's plan is malformed at " + e.field;
  }
  writeEnd.reset();
  if (!check.valid()) {
    probe.end = berth::shim::realtimeNow();
    return probe;
  }
  uint64_t deadline = monotonicMs() + c.timeoutMs;
  char buf[4096];
  bool open = true;
  for (;;) {
    uint64_t now = monotonicMs();
    if (now >= deadline) {
      syscall(SYS_pidfd_send_signal, check.get(), SIGKILL, nullptr, 0);
      reap(check.get());
      probe.exitCode = -1;
      probe.output = "Health check exceeded timeout (" + c.timeoutText + ")";
      probe.end = berth::shim::realtimeNow();
      return probe;
    }
    struct pollfd p[2] = {{check.get(), POLLIN, 0}, {open ? readEnd.get() : -1, POLLIN, 0}};
    int n = poll(p, 2, static_cast<int>(deadline - now));
    if (n < 0 && errno != EINTR) break;
    if (open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t got = read(readEnd.get(), buf, sizeof buf);
      if (got > 0)
        appendOutput(probe.output, buf, static_cast<size_t>(got));
      else if (got == 0 || errno != EINTR)
        open = false;
    }
    if (p[0].revents & POLLIN) break;
  }
  // Exited: what it wrote is in the pipe (a background child of the check may keep it open, so
  // read only what is there).
  fcntl(readEnd.get(), F_SETFL, O_NONBLOCK);
  while (open) {
    ssize_t got = read(readEnd.get(), buf, sizeof buf);
    if (got <= 0) break;
    appendOutput(probe.output, buf, static_cast<size_t>(got));
  }
  probe.exitCode = reap(check.get());
  probe.end = berth::shim::realtimeNow();
  return probe;
}

std::vector<uint8_t> readPlan(const std::string& path) {
  std::string text;
  try {
    text = berth::shim::readWholeFile(path, "plan");
  } catch (const berth::shim::StartError&) {
    throw std::runtime_error("cannot read " + path);
  }
  return std::vector<uint8_t>(text.begin(), text.end());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: berth-health CONFIG_FILE\n");
    return 2;
  }
  // Pin no directory of the launcher's (a mount could not be unmounted under us).
  if (chdir("/") < 0) return 1;
  signal(SIGPIPE, SIG_IGN);
  signal(SIGCHLD, SIG_DFL);
  Config c;
  std::vector<uint8_t> plan;
  try {
    c = berth::health::readConfig(argv[1]);
    plan = readPlan(c.plan);
  } catch (const std::exception& e) {
    fprintf(stderr, "berth-health: %s: %s\n", argv[1], e.what());
    return 1;
  }
  size_t pidOffset = c.joinPidOffset;
  if (pidOffset + sizeof(double) > plan.size()) return 1;
  int pidfd = openProcess(c.pid, c.pidStart);
  if (pidfd < 0) return 0;  // the container has ended already
  Running current{c.pid, c.pidStart, 0, 0};
  Running known{};
  if (readState(c.state, known) && known.pid == c.pid && known.shimPid > 0) {
    current.shimPid = known.shimPid;
    current.shimStart = processStartTime(known.shimPid);
  }

  berth::health::Health health;
  uint64_t startedAt = monotonicMs();
  for (;;) {
    bool inStartPeriod = monotonicMs() - startedAt < c.startPeriodMs;
    uint64_t wait = inStartPeriod && c.startIntervalMs > 0 && !health.healthy() ? c.startIntervalMs : c.intervalMs;
    struct pollfd p = {pidfd, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(std::min<uint64_t>(wait, 0x7fffffff)));
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) {
      if (!followRestart(c, current, pidfd)) return 0;
      health.restart();
      berth::health::writeFileAtomic(c.health, health.json());
      startedAt = monotonicMs();
      continue;
    }
    uint64_t probeStart = monotonicMs();
    Probe probe = runCheck(c, plan, pidOffset, current.pid);
    // A check that failed because the container ended in the meantime is not its health. The
    // kernel kills the other processes of a PID namespace before its init's pidfd turns readable:
    // a check that was killed, or could not enter, waits a moment for that.
    bool ended = probe.exitCode == 128 + SIGKILL ||
                 (probe.exitCode == -1 && probe.output.rfind("Health check exceeded timeout", 0) != 0);
    struct pollfd again = {pidfd, POLLIN, 0};
    if (poll(&again, 1, ended ? 200 : 0) > 0) continue;
    health.record(std::move(probe), probeStart - startedAt < c.startPeriodMs, c.retries);
    berth::health::writeFileAtomic(c.health, health.json());
  }
}
