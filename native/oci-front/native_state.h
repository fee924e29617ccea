#pragma once
// The plain data `berth-oci create` records for the front (src/oci/native-state.ts documents the
// format and why it exists), and the status it implies, decided as src/oci/state-store.ts does.
#include <sys/types.h>

#include <string>
#include <vector>

namespace berth::front {

struct NativeState {
  pid_t pid = 0;
  unsigned long long startTime = 0;
  std::string head, mid, tail;
  std::string fifo;
  int freezerVersion = 0;  // 0: none
  std::string freezerDir;
  std::vector<std::string> cgroupDirs;
  std::vector<std::string> emptyParents;
  std::vector<std::string> hooks;
  // `list`: the JSON entry around pid and status, and the table's cells
  std::string listHead, listMid, listTail;
  std::string listBundle, listCreated, listOwner;

  bool hasHook(const char* kind) const;
};

// Reads <root>/<id>/native-state; false when it is missing or malformed (Node then answers).
bool readNativeState(const std::string& dir, NativeState* out);

// The process's start time (field 22 of /proc/PID/stat), 0 when it is gone or a zombie.
unsigned long long processStartTime(pid_t pid);

enum class Status { Created, Running, Paused, Stopped };
const char* statusName(Status s);

bool isFrozen(const NativeState& s);
Status statusOf(const NativeState& s);

}  // namespace berth::front
