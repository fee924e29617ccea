#pragma once
#include <sys/types.h>

#include <string>

namespace berth::shim {

// One run of the container process.
struct RunInfo {
  pid_t pid = 0;
  unsigned long long startTime = 0;  // field 22 of /proc/PID/stat: tells a reused PID apart
  std::string startedAt;
};

struct ExitInfo {
  int exitCode = 0;  // 128 + signal when a signal killed it
  bool oomKilled = false;
  std::string finishedAt;
  std::string error;  // a restart that could not start: why
};

// Replaces state.json atomically (temp file in the same directory, then rename). `exit` null:
// status running. Failures are ignored: a directory removed by `rm -f` has no state to keep.
void writeState(const std::string& path, const RunInfo& run, unsigned restartCount, pid_t shimPid,
                const ExitInfo* exit);

// Field 22 of /proc/PID/stat, or 0 when it cannot be read.
unsigned long long processStartTime(pid_t pid);

// Reads a small /proc or cgroup file into buf (NUL-terminated); false when it cannot be read.
bool readSmallFile(const char* path, char* buf, size_t size);

}  // namespace berth::shim
