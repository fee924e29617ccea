#include "shim/events.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "shim/json.h"

namespace berth::shim {

void appendEvent(const std::string& journal, const std::string& tmpl, int exitCode) {
  if (journal.empty() || tmpl.empty()) return;
  struct timespec now = realtimeNow();
  unsigned long long nanos = static_cast<unsigned long long>(now.tv_sec) * 1000000000ULL + now.tv_nsec;
  std::string line;
  line.reserve(tmpl.size() + 32);
  for (size_t i = 0; i < tmpl.size(); i++) {
    if (tmpl[i] == '%') {
      size_t close = tmpl.find('%', i + 1);
      if (close != std::string::npos) {
        std::string name = tmpl.substr(i + 1, close - i - 1);
        if (name == "EXIT" || name == "TIME" || name == "NANO") {
          line += name == "EXIT"   ? std::to_string(exitCode)
                  : name == "TIME" ? std::to_string(now.tv_sec)
                                   : std::to_string(nanos);
          i = close;
          continue;
        }
      }
    }
    line += tmpl[i];
  }
  line += '\n';
  int fd = open(journal.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) return;
  ssize_t n;
  do n = write(fd, line.data(), line.size());
  while (n < 0 && errno == EINTR);
  close(fd);
}

}  // namespace berth::shim
