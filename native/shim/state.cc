#include "shim/state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/io.h"
#include "shim/json.h"

namespace berth::shim {

void writeState(const std::string& path, const RunInfo& run, unsigned restartCount, pid_t shimPid,
                const ExitInfo* exit) {
  std::string s = exit ? "{\"status\":\"exited\"" : "{\"status\":\"running\"";
  s += ",\"pid\":" + std::to_string(run.pid);
  s += ",\"pidStartTime\":" + std::to_string(run.startTime);
  s += ",\"startedAt\":";
  appendJsonString(s, run.startedAt);
  if (exit) {
    s += ",\"finishedAt\":";
    appendJsonString(s, exit->finishedAt);
    s += ",\"exitCode\":" + std::to_string(exit->exitCode);
    s += exit->oomKilled ? ",\"oomKilled\":true" : ",\"oomKilled\":false";
    if (!exit->error.empty()) {
      s += ",\"error\":";
      appendJsonString(s, exit->error);
    }
  }
  s += ",\"restartCount\":" + std::to_string(restartCount);
  s += ",\"shimPid\":" + std::to_string(shimPid);
  s += "}\n";

  size_t slash = path.rfind('/');
  std::string tmp = path.substr(0, slash + 1) + "." + path.substr(slash + 1) + "." + std::to_string(getpid()) + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
  if (fd < 0) return;
  bool ok = berth::writeAll(fd, s.data(), s.size());
  if (close(fd) < 0) ok = false;
  if (!ok || rename(tmp.c_str(), path.c_str()) < 0) unlink(tmp.c_str());
}

bool readSmallFile(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n;
  do n = read(fd, buf, size - 1);
  while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  return true;
}

unsigned long long processStartTime(pid_t pid) {
  std::string file = "/proc/" + std::to_string(pid) + "/stat";
  char buf[1024];
  if (!readSmallFile(file.c_str(), buf, sizeof buf)) return 0;
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  char* p = strrchr(buf, ')');
  if (!p) return 0;
  p++;
  for (int field = 2; field < 22; field++) {
    while (*p == ' ') p++;
    if (field == 21) break;
    while (*p && *p != ' ') p++;
  }
  return strtoull(p, nullptr, 10);
}

}  // namespace berth::shim
