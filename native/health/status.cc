#include "health/status.h"

#include <fcntl.h>
#include <unistd.h>

#include "core/io.h"
#include "shim/json.h"

namespace berth::health {

void Health::record(Probe probe, bool inStartPeriod, unsigned retries) {
  if (probe.exitCode == 0) {
    failingStreak_ = 0;
    status_ = "healthy";
  } else if (!(status_ == "starting" && inStartPeriod)) {
    failingStreak_++;
    if (failingStreak_ >= retries) status_ = "unhealthy";
  }
  log_.push_back(std::move(probe));
  while (log_.size() > kMaxLog) log_.pop_front();
}

std::string Health::json() const {
  std::string s = "{\"Status\":\"" + status_ + "\",\"FailingStreak\":" + std::to_string(failingStreak_) + ",\"Log\":[";
  bool first = true;
  for (const Probe& p : log_) {
    char start[40], end[40];
    shim::rfc3339Nano(p.start, start);
    shim::rfc3339Nano(p.end, end);
    s += first ? "{" : ",{";
    first = false;
    s += "\"Start\":\"" + std::string(start) + "\",\"End\":\"" + std::string(end) +
         "\",\"ExitCode\":" + std::to_string(p.exitCode) + ",\"Output\":";
    shim::appendJsonString(s, p.output);
    s += "}";
  }
  s += "]}\n";
  return s;
}

bool writeFileAtomic(const std::string& path, const std::string& text) {
  size_t slash = path.rfind('/');
  std::string tmp = path.substr(0, slash + 1) + "." + path.substr(slash + 1) + "." + std::to_string(getpid()) + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
  if (fd < 0) return false;
  bool ok = berth::writeAll(fd, text.data(), text.size());
  if (close(fd) < 0) ok = false;
  if (!ok || rename(tmp.c_str(), path.c_str()) < 0) {
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace berth::health
