#pragma once
#include <time.h>

#include <deque>
#include <string>

namespace berth::health {

// One probe, as docker's State.Health.Log holds it.
struct Probe {
  struct timespec start;
  struct timespec end;
  int exitCode;        // -1: the check could not run or exceeded its timeout
  std::string output;  // at most kMaxOutput bytes
};

constexpr size_t kMaxOutput = 4096;  // docker's maxOutputLen: the first 4 KiB are kept
constexpr size_t kMaxLog = 5;        // docker's maxLogEntries

// docker's State.Health and its rules (moby daemon/health.go handleProbeResult).
class Health {
 public:
  // A (re)start of the container: starting again, the log kept.
  void restart() {
    status_ = "starting";
    failingStreak_ = 0;
  }
  // A failure inside the start period, before any success, does not count.
  void record(Probe probe, bool inStartPeriod, unsigned retries);
  bool healthy() const { return status_ == "healthy"; }
  std::string json() const;

 private:
  std::string status_ = "starting";
  unsigned failingStreak_ = 0;
  std::deque<Probe> log_;
};

// Replaces path with text atomically (a sibling temp file, renamed); false if it could not.
bool writeFileAtomic(const std::string& path, const std::string& text);

}  // namespace berth::health
