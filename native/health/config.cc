#include "health/config.h"

#include <cstdlib>
#include <stdexcept>

#include "shim/config.h"

namespace berth::health {
namespace {

uint64_t number(const std::string& key, const std::string& value) {
  if (value.empty() || value.size() > 19 || value.find_first_not_of("0123456789") != std::string::npos)
    throw std::runtime_error("expected a non-negative integer for " + key);
  return strtoull(value.c_str(), nullptr, 10);
}

}  // namespace

Config readConfig(const std::string& path) {
  std::string text;
  try {
    text = shim::readWholeFile(path, "config");
  } catch (const shim::StartError&) {
    throw std::runtime_error("cannot read " + path);
  }
  Config c;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) throw std::runtime_error("expected key=value");
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    bool isPath = key == "plan" || key == "health" || key == "state";
    if (isPath && (value.empty() || value[0] != '/')) throw std::runtime_error("expected an absolute path for " + key);
    if (key == "plan")
      c.plan = value;
    else if (key == "health")
      c.health = value;
    else if (key == "state")
      c.state = value;
    else if (key == "pid")
      c.pid = static_cast<pid_t>(number(key, value));
    else if (key == "pid_start")
      c.pidStart = number(key, value);
    else if (key == "interval_ms")
      c.intervalMs = number(key, value);
    else if (key == "timeout_ms")
      c.timeoutMs = number(key, value);
    else if (key == "start_period_ms")
      c.startPeriodMs = number(key, value);
    else if (key == "start_interval_ms")
      c.startIntervalMs = number(key, value);
    else if (key == "retries")
      c.retries = static_cast<unsigned>(number(key, value));
    else if (key == "join_pid_offset")
      c.joinPidOffset = number(key, value);
    else if (key == "timeout_text")
      c.timeoutText = value;
    else
      throw std::runtime_error("unknown key " + key);
  }
  if (c.plan.empty() || c.health.empty() || c.state.empty() || c.pid <= 0)
    throw std::runtime_error("plan, health, state and pid are required");
  return c;
}

}  // namespace berth::health
