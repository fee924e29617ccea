#include "oci-front/native_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace berth::front {

namespace {

// The whole of a small file (state files, /proc and cgroup files); false if it cannot be read.
bool readFile(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      close(fd);
      return false;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return true;
}

bool parseNumber(const std::string& s, unsigned long long* out) {
  if (s.empty() || s.size() > 19) return false;
  unsigned long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

bool NativeState::hasHook(const char* kind) const {
  for (const std::string& h : hooks)
    if (h == kind) return true;
  return false;
}

bool readNativeState(const std::string& dir, NativeState* out) {
  std::string data;
  if (!readFile(dir + "/native-state", &data)) return false;
  bool havePid = false, haveStart = false;
  size_t at = 0;
  while (at < data.size()) {
    size_t k = data.find('\0', at);
    if (k == std::string::npos) return false;
    size_t v = data.find('\0', k + 1);
    if (v == std::string::npos) return false;
    std::string key = data.substr(at, k - at), value = data.substr(k + 1, v - k - 1);
    at = v + 1;
    unsigned long long n = 0;
    if (key == "pid") {
      if (!parseNumber(value, &n) || n == 0 || n > 0x3fffffff) return false;
      out->pid = static_cast<pid_t>(n);
      havePid = true;
    } else if (key == "start-time") {
      if (!parseNumber(value, &out->startTime)) return false;
      haveStart = true;
    } else if (key == "head") {
      out->head = value;
    } else if (key == "mid") {
      out->mid = value;
    } else if (key == "tail") {
      out->tail = value;
    } else if (key == "fifo") {
      out->fifo = value;
    } else if (key == "freezer-v1" || key == "freezer-v2") {
      out->freezerVersion = key == "freezer-v1" ? 1 : 2;
      out->freezerDir = value;
    } else if (key == "cgroup") {
      out->cgroupDirs.push_back(value);
    } else if (key == "empty-parent") {
      out->emptyParents.push_back(value);
    } else if (key == "hook") {
      out->hooks.push_back(value);
    } else if (key == "list-head") {
      out->listHead = value;
    } else if (key == "list-mid") {
      out->listMid = value;
    } else if (key == "list-tail") {
      out->listTail = value;
    } else if (key == "list-bundle") {
      out->listBundle = value;
    } else if (key == "list-created") {
      out->listCreated = value;
    } else if (key == "list-owner") {
      out->listOwner = value;
    }
    // an unknown key is from a newer berth: what the front knows still holds
  }
  return havePid && haveStart && !out->head.empty() && !out->mid.empty() && !out->tail.empty() && !out->fifo.empty();
}

unsigned long long processStartTime(pid_t pid) {
  std::string stat;
  if (!readFile("/proc/" + std::to_string(pid) + "/stat", &stat)) return 0;
  // the command name may hold spaces and parentheses: the fields start after the last ')'
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  const char* p = stat.c_str() + close + 1;
  // field 3 (state) is the first after ')'; starttime is field 22
  for (int field = 3; field <= 22; field++) {
    while (*p == ' ') p++;
    if (!*p) return 0;
    if (field == 3 && (*p == 'Z' || *p == 'X')) return 0;
    if (field == 22) return strtoull(p, nullptr, 10);
    while (*p && *p != ' ') p++;
  }
  return 0;
}

const char* statusName(Status s) {
  switch (s) {
    case Status::Created:
      return "created";
    case Status::Running:
      return "running";
    case Status::Paused:
      return "paused";
    case Status::Stopped:
      return "stopped";
  }
  return "stopped";
}

bool isFrozen(const NativeState& s) {
  std::string text;
  if (s.freezerVersion == 1) {
    if (!readFile(s.freezerDir + "/freezer.state", &text)) return false;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text != "THAWED";
  }
  if (s.freezerVersion == 2)
    return readFile(s.freezerDir + "/cgroup.events", &text) && text.find("frozen 1") != std::string::npos;
  return false;
}

Status statusOf(const NativeState& s) {
  unsigned long long started = processStartTime(s.pid);
  if (started == 0 || started != s.startTime) return Status::Stopped;
  if (access(s.fifo.c_str(), F_OK) == 0) return Status::Created;
  return isFrozen(s) ? Status::Paused : Status::Running;
}

}  // namespace berth::front
