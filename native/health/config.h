#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace berth::health {

// What TypeScript decided for one container's health check (src/runtime/health/monitor.ts), read
// from `key=value` lines. Durations are milliseconds; every path is absolute.
struct Config {
  std::string plan;       // the check as an encoded exec plan (src/native/plan-codec.ts)
  std::string health;     // health.json, replaced atomically after every check
  std::string state;      // the container's state.json: followed across the shim's restarts
  pid_t pid = 0;          // the container's init when the monitor was started
  uint64_t pidStart = 0;  // its start time (field 22 of /proc/PID/stat)
  uint64_t intervalMs = 30000;
  uint64_t timeoutMs = 30000;
  uint64_t startPeriodMs = 0;
  uint64_t startIntervalMs = 0;  // 0: the interval during the start period too
  unsigned retries = 3;
  // where the encoded plan holds joinPid (an f64): rewritten when the shim restarted the container
  uint64_t joinPidOffset = 0;
  std::string timeoutText;  // the timeout as docker prints it (Go's Duration.String), for the log
};

// Throws std::runtime_error naming the key that is wrong.
Config readConfig(const std::string& path);

}  // namespace berth::health
