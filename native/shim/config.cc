#include "shim/config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/unique_fd.h"

namespace berth::shim {
namespace {

[[noreturn]] void bad(const std::string& configPath, const std::string& why) {
  throw StartError{"parse config: " + why, EINVAL, -1, configPath};
}

uint64_t number(const std::string& configPath, const std::string& key, const std::string& value) {
  if (value.empty() || value.size() > 19 || value.find_first_not_of("0123456789") != std::string::npos)
    bad(configPath, "expected a non-negative integer for " + key + " but received \"" + value + "\"");
  return strtoull(value.c_str(), nullptr, 10);
}

RestartPolicy policy(const std::string& configPath, const std::string& value) {
  if (value == "no") return RestartPolicy::kNo;
  if (value == "always") return RestartPolicy::kAlways;
  if (value == "on-failure") return RestartPolicy::kOnFailure;
  if (value == "unless-stopped") return RestartPolicy::kUnlessStopped;
  bad(configPath, "expected no, always, on-failure or unless-stopped for restart but received \"" + value + "\"");
}

}  // namespace

std::string readWholeFile(const std::string& path, const char* what) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw StartError{std::string("read ") + what, errno, -1, path};
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw StartError{std::string("read ") + what, errno, -1, path};
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Config readConfig(const std::string& path) {
  std::string text = readWholeFile(path, "config");
  Config c;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) bad(path, "expected key=value but received \"" + line + "\"");
    std::string key = line.substr(0, eq);
    std::string value = line.substr(eq + 1);
    bool isPath = key == "plan" || key == "state" || key == "log" || key == "cgroup_dir" || key == "oom_file" ||
                  key == "stop_marker" || key == "remove_dir" || key == "name_link" || key == "attach_socket" ||
                  key == "event_journal";
    if (isPath && (value.empty() || value[0] != '/'))
      bad(path, "expected an absolute path for " + key + " but received \"" + value + "\"");
    if (key == "plan")
      c.plan = value;
    else if (key == "state")
      c.state = value;
    else if (key == "log")
      c.log = value;
    else if (key == "log_max_size")
      c.logMaxSize = number(path, key, value);
    else if (key == "log_max_files")
      c.logMaxFiles = static_cast<unsigned>(number(path, key, value));
    else if (key == "cgroup_dir")
      c.cgroupDirs.push_back(value);
    else if (key == "oom_file")
      c.oomFile = value;
    else if (key == "oom_key")
      c.oomKey = value;
    else if (key == "restart")
      c.restart = policy(path, value);
    else if (key == "restart_max")
      c.restartMax = static_cast<unsigned>(number(path, key, value));
    else if (key == "stop_marker")
      c.stopMarker = value;
    else if (key == "remove_dir")
      c.removeDir = value;
    else if (key == "name_link")
      c.nameLink = value;
    else if (key == "exit_command") {
      if (c.exitCommand.empty() && (value.empty() || value[0] != '/'))
        bad(path, "expected an absolute path for exit_command but received \"" + value + "\"");
      c.exitCommand.push_back(value);
    } else if (key == "event_journal")
      c.eventJournal = value;
    else if (key == "event_die")
      c.eventDie = value;
    else if (key == "event_start")
      c.eventStart = value;
    else if (key == "event_destroy")
      c.eventDestroy = value;
    else if (key == "attach_socket")
      c.attachSocket = value;
    else if (key == "attached")
      c.attached = number(path, key, value) != 0;
    else if (key == "stdin_open")
      c.stdinOpen = number(path, key, value) != 0;
    else if (key == "stdin_once")
      c.stdinOnce = number(path, key, value) != 0;
    else
      bad(path, "unknown key \"" + key + "\"");
  }
  if (c.plan.empty()) bad(path, "missing plan=");
  if (c.state.empty()) bad(path, "missing state=");
  if (c.logMaxFiles == 0) c.logMaxFiles = 1;
  return c;
}

}  // namespace berth::shim
