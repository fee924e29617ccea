#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/errors.h"

namespace berth::shim {

enum class RestartPolicy { kNo, kAlways, kOnFailure, kUnlessStopped };

// What TypeScript decided for one detached container, read from `key=value` lines. Every path is
// absolute: the shim runs with / as its working directory so that it pins no directory or mount.
struct Config {
  std::string plan;         // the encoded spawn plan (src/native/plan-codec.ts)
  std::string state;        // state.json, replaced atomically on every change
  std::string log;          // json-file log; empty: --log-driver none
  uint64_t logMaxSize = 0;  // 0: unbounded
  unsigned logMaxFiles = 1;
  std::vector<std::string> cgroupDirs;  // removed after the final exit
  std::string oomFile;                  // memory.oom_control (v1) or memory.events (v2)
  std::string oomKey = "oom_kill";
  RestartPolicy restart = RestartPolicy::kNo;
  unsigned restartMax = 0;  // on-failure: 0 = unlimited
  std::string stopMarker;   // exists when the user stopped the container: never restart
  std::string removeDir;    // --rm: the container's directory
  std::string nameLink;     // --rm: the name link to release
  // Run (not waited for) after the final exit, with the shim's pid appended: `berth container
  // cleanup`, which releases what only Node can (the CNI networks). As podman's exit command.
  std::vector<std::string> exitCommand;
  // The events journal and the lines appended to it (events.h): die at every exit, start at a
  // restart, destroy when --rm removed the container. Empty: no events.
  std::string eventJournal;
  std::string eventDie;
  std::string eventStart;
  std::string eventDestroy;
  std::string attachSocket;  // the attach socket (attach.h); empty: none
  bool attached = false;     // fd 4 is a client connected already (start -a, a foreground run)
  bool stdinOpen = false;    // -i: the container's stdin is a pipe (or the pty) fed by clients
  bool stdinOnce = false;    // close the container's stdin when a client's input ends (docker run -i)
};

// A failure to report on the status pipe as `err STEP\tERRNO\tINDEX\tPATH`.
struct StartError {
  std::string step;
  int err;
  int index;
  std::string path;
  berth::Step childStep = berth::Step::kNone;  // when the container's process failed before execve
};

// Whole file into memory; throws StartError{"read <what>", errno, -1, path}.
std::string readWholeFile(const std::string& path, const char* what);

// Throws StartError with step "read config" or "parse config: <why>".
Config readConfig(const std::string& path);

}  // namespace berth::shim
