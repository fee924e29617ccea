#pragma once
#include <sys/types.h>
#include <time.h>

#include <string>

#include "core/spawn.h"
#include "core/unique_fd.h"
#include "shim/attach.h"
#include "shim/config.h"
#include "shim/log.h"
#include "shim/state.h"

namespace berth::shim {

// The container's parent for its whole life: starts it, copies its output into the log, reaps it
// (and, as a subreaper, anything reparented to it), records each exit, restarts it as the policy
// says, and cleans up after the final exit.
class Monitor {
 public:
  Monitor(Config config, SpawnPlan plan);
  // Starts the container and reports `ok PID STARTTIME` or `err ...` on statusFd (-1: none),
  // then watches it until the end. Returns the shim's exit status.
  int run(int statusFd);

 private:
  void start();  // throws SysError, ChildError
  void waitForExit();
  void reapChildren();
  bool shouldRestart(int exitCode) const;
  bool stopRequested() const;
  // Sleeps, still reaping; false when the user stopped the container meanwhile.
  bool backoff(unsigned ms);
  unsigned long long oomCount() const;
  void finish(const ExitInfo& exit);
  void runExitCommand();
  // Attach clients' frames: stdin data, its end, a terminal size.
  void onInput(uint8_t type, const std::string& payload, bool owner);
  // Writes what clients sent to the container's stdin, as much as it takes now.
  void writeStdin();
  // Where clients' input goes: the stdin pipe, or with a tty the pty master; -1 without -i.
  int stdinFd() const;

  Config config_;
  SpawnPlan plan_;
  JsonLog log_;
  LogStream out_{"stdout"}, err_{"stderr"};
  int signalFd_ = -1;
  int devNull_ = -1;
  pid_t shimPid_;
  RunInfo run_;
  struct timespec startedMono_ = {0, 0};
  bool exited_ = false;
  int waitStatus_ = 0;
  unsigned restarts_ = 0;
  unsigned long long oomSeen_ = 0;
  AttachServer attach_;
  UniqueFd stdin_;  // our end of the container's stdin pipe (-i without a tty), one per run
  std::string stdinPending_;
  bool stdinEof_ = false;  // stdin_once: a client's input ended, the container's stdin stays closed
};

// The line written to the status pipe for a failed start: `err STEP\tERRNO\tINDEX\tPATH\n`.
std::string errorLine(const StartError& e);
// Writes all of line to fd (retrying short writes and EINTR), then closes fd.
void reportStatus(int fd, const std::string& line);

}  // namespace berth::shim
