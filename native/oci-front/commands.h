#pragma once
// The commands the front answers itself. Each either completes the command (its exit status) or
// returns kHandOver before it has changed anything, and Node runs the command instead: an error
// to report (in the log format the caller asked for), a hook to run, a case the front does not
// cover. The TypeScript runtime (src/oci/runtime.ts) is the reference for every one of them.
#include <string>

#include "oci-front/native_state.h"

namespace berth::front {

constexpr int kHandOver = -1;

// `state`: the spec's state JSON, byte for byte what Node prints.
int stateCommand(const NativeState& s);
// `start`: lets the created init exec its process (one byte through the exec fifo).
int startCommand(const NativeState& s);
// `kill [SIGNAL]` without --all.
int killCommand(const NativeState& s, const std::string& signal);
// `delete [--force]`: the cgroups, then the state directory.
int deleteCommand(const NativeState& s, const std::string& stateDir, bool force);
// `pause` and `resume`: the freezer.
int pauseCommand(const NativeState& s);
int resumeCommand(const NativeState& s);

// `list [--format table|json] [-q]` over every container of the root (list.cc).
int listCommand(const std::string& root, const std::string& format, bool quiet);

// A signal as `runc kill` reads it (a number up to 64, or a name with or without SIG, any case);
// 0 when the front leaves it to Node (a name it does not know, 0, a number kill(2) refuses).
int parseSignal(const std::string& raw);

}  // namespace berth::front
