#include "oci-front/commands.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <string>
#include <vector>

#include "core/io.h"
#include "core/unique_fd.h"

namespace berth::front {

namespace {

long long nowMs() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<long long>(t.tv_sec) * 1000 + t.tv_nsec / 1000000;
}

void sleepMs(int ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

bool writeFile(const std::string& path, const char* text) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  return fd.valid() && writeAll(fd.get(), text, std::char_traits<char>::length(text));
}

bool readFile(const std::string& path, std::string* out) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
  }
}

// The processes of every cgroup the container has (what `delete --force` kills).
std::vector<pid_t> cgroupPids(const NativeState& s) {
  std::vector<pid_t> pids;
  for (const std::string& dir : s.cgroupDirs) {
    std::string text;
    if (!readFile(dir + "/cgroup.procs", &text)) continue;
    size_t at = 0;
    while (at < text.size()) {
      size_t end = text.find('\n', at);
      if (end == std::string::npos) end = text.size();
      long pid = strtol(text.c_str() + at, nullptr, 10);
      if (pid > 0) pids.push_back(static_cast<pid_t>(pid));
      at = end + 1;
    }
  }
  return pids;
}

// A pidfd for the init if it is still the process create recorded (-1 if not, or no pidfds).
int initPidfd(const NativeState& s) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, s.pid, 0));
  if (fd < 0) return -1;
  if (processStartTime(s.pid) != s.startTime) {
    close(fd);
    return -1;
  }
  return fd;
}

// Waits up to ms for the init to end: through its pidfd, or by polling its start time.
void waitForInitExit(const NativeState& s, int ms) {
  UniqueFd pidfd(initPidfd(s));
  if (pidfd.valid()) {
    struct pollfd p = {pidfd.get(), POLLIN, 0};
    while (poll(&p, 1, ms) < 0 && errno == EINTR) {
    }
    return;
  }
  for (long long end = nowMs() + ms; nowMs() < end && processStartTime(s.pid) == s.startTime;) sleepMs(10);
}

// rmdir, retrying while the kernel still counts the cgroup's last processes (EBUSY), as
// src/runtime/cgroups/common.ts removeCgroupDirs does.
void removeCgroupDir(const std::string& dir) {
  for (int attempt = 0; attempt <= 50; attempt++) {
    if (rmdir(dir.c_str()) == 0 || errno != EBUSY) return;
    sleepMs(10);
  }
}

struct SignalName {
  const char* name;
  int number;
};
// Node's os.constants.signals on Linux, which src/oci-cli/signals.ts reads.
constexpr SignalName kSignals[] = {
    {"HUP", 1},    {"INT", 2},   {"QUIT", 3},    {"ILL", 4},   {"TRAP", 5},  {"ABRT", 6},    {"IOT", 6},
    {"BUS", 7},    {"FPE", 8},   {"KILL", 9},    {"USR1", 10}, {"SEGV", 11}, {"USR2", 12},   {"PIPE", 13},
    {"ALRM", 14},  {"TERM", 15}, {"STKFLT", 16}, {"CHLD", 17}, {"CONT", 18}, {"STOP", 19},   {"TSTP", 20},
    {"TTIN", 21},  {"TTOU", 22}, {"URG", 23},    {"XCPU", 24}, {"XFSZ", 25}, {"VTALRM", 26}, {"PROF", 27},
    {"WINCH", 28}, {"IO", 29},   {"POLL", 29},   {"PWR", 30},  {"SYS", 31},
};

}  // namespace

int parseSignal(const std::string& raw) {
  if (raw.empty()) return 0;
  bool digits = true;
  for (char c : raw) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    // 1..64; 0 (a liveness probe) and what kill(2) would refuse are Node's to answer
    int n = raw.size() <= 3 ? std::stoi(raw) : 0;
    return n >= 1 && n <= 64 ? n : 0;
  }
  std::string name;
  for (char c : raw) name += static_cast<char>(toupper(static_cast<unsigned char>(c)));
  if (name.compare(0, 3, "SIG") == 0) name = name.substr(3);
  for (const SignalName& s : kSignals)
    if (name == s.name) return s.number;
  return 0;
}

int stateCommand(const NativeState& s) {
  Status status = statusOf(s);
  std::string out = s.head;
  out += statusName(status);
  out += s.mid;
  out += std::to_string(status == Status::Stopped ? 0 : s.pid);
  out += s.tail;
  return writeAll(1, out.data(), out.size()) ? 0 : 1;
}

int startCommand(const NativeState& s) {
  if (statusOf(s) != Status::Created || s.hasHook("poststart") || s.hasHook("startContainer")) return kHandOver;
  UniqueFd fifo(open(s.fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo.valid()) return kHandOver;
  UniqueFd pidfd(initPidfd(s));
  char byte;
  // The init's open(O_WRONLY) completes now that a reader is here; its one byte follows.
  for (long long end = nowMs() + 10000; nowMs() < end;) {
    if (read(fifo.get(), &byte, 1) == 1) {
      unlink(s.fifo.c_str());
      return 0;
    }
    struct pollfd p[2] = {{fifo.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    // without a pidfd (an old kernel), look at the init every 2 ms
    int n = poll(p, pidfd.valid() ? 2 : 1, pidfd.valid() ? 1000 : 2);
    if (n < 0 && errno != EINTR) break;
    bool ended = pidfd.valid() ? (p[1].revents & POLLIN) != 0 : processStartTime(s.pid) != s.startTime;
    if (ended) {
      // a short command may write its byte, run and exit in one go: the byte says it started
      if (read(fifo.get(), &byte, 1) == 1) {
        unlink(s.fifo.c_str());
        return 0;
      }
      break;
    }
  }
  // Ended before it took the byte, or never took it: Node says which (nothing was changed).
  return kHandOver;
}

int killCommand(const NativeState& s, const std::string& signal) {
  int sig = parseSignal(signal);
  if (sig <= 0 || statusOf(s) == Status::Stopped) return kHandOver;
  if (kill(s.pid, sig) != 0 && errno != ESRCH) return kHandOver;
  return 0;
}

int deleteCommand(const NativeState& s, const std::string& stateDir, bool force) {
  Status status = statusOf(s);
  if ((status != Status::Stopped && !force) || s.hasHook("poststop")) return kHandOver;
  if (status != Status::Stopped) {
    if (isFrozen(s))
      writeFile(s.freezerDir + (s.freezerVersion == 1 ? "/freezer.state" : "/cgroup.freeze"),
                s.freezerVersion == 1 ? "THAWED" : "0");
    kill(s.pid, SIGKILL);
    for (pid_t pid : cgroupPids(s)) kill(pid, SIGKILL);
    waitForInitExit(s, 5000);
  }
  for (int i = 0; i < 100 && !cgroupPids(s).empty(); i++) sleepMs(10);
  for (const std::string& dir : s.cgroupDirs) removeCgroupDir(dir);
  // berth-oci's own default parent goes with its last container (the list is empty otherwise)
  for (const std::string& dir : s.emptyParents) rmdir(dir.c_str());
  // (if even that fails, Node's delete removes what is left of the directory, or says why not)
  return removeTree(stateDir.c_str(), true) == 0 ? 0 : kHandOver;
}

int pauseCommand(const NativeState& s) {
  if (s.freezerVersion == 0 || statusOf(s) != Status::Running) return kHandOver;
  bool v1 = s.freezerVersion == 1;
  return writeFile(s.freezerDir + (v1 ? "/freezer.state" : "/cgroup.freeze"), v1 ? "FROZEN" : "1") ? 0 : kHandOver;
}

int resumeCommand(const NativeState& s) {
  if (s.freezerVersion == 0 || !isFrozen(s)) return kHandOver;
  bool v1 = s.freezerVersion == 1;
  return writeFile(s.freezerDir + (v1 ? "/freezer.state" : "/cgroup.freeze"), v1 ? "THAWED" : "0") ? 0 : kHandOver;
}

}  // namespace berth::front
