#pragma once
// Entering a running container (exec) without ever exposing the caller to it.
//
// The process that joins a container's namespaces is visible to root in the container from the
// moment it is in the PID namespace until it execs the command. So it is never a clone of the
// caller (Node): the caller starts berth-nsenter from a sealed memfd copy (core/sealed_exe.h)
// with an empty environment and only the descriptors below; berth-nsenter makes itself
// non-dumpable first, joins the cgroup and namespaces, hands the pty master back, closes every
// descriptor but the command's 0, 1 and 2, and only then clones the command (CLONE_PARENT: the
// caller's child, so the caller reaps it). Its report goes through shared memory, not a
// descriptor the command could inherit.
#include <cstddef>
#include <cstdint>

#include "core/spawn.h"

namespace berth {

// berth-nsenter's descriptors at start.
constexpr int kEnterDataFd = 3;  // memfd: EnterReport page, then the encoded plan at kEnterPlanOffset
constexpr int kEnterTtyFd = 4;   // socket the pty master is sent back over (plan.tty)
// 5 is berth-nsenter's own executable (close-on-exec); then plan.preserveFds descriptors, the
// caller's 3..3+N-1, which the command gets back at 3..3+N-1 (core/io.h placePreservedFds).
constexpr int kEnterPreservedFd = 6;

constexpr size_t kEnterPlanOffset = 4096;
constexpr uint32_t kEnterReportMagic = 0x62657231;  // "ber1": the helper got as far as reporting

struct EnterReport {
  uint32_t magic;
  int32_t pid;  // the command (a child of the caller), 0 when none was started
  int32_t err;
  int32_t index;
  uint32_t step;  // Step; kNone when the command exec'd
  // create: a failure of berth-nsenter itself before the clone (a cgroup write, say), as SysError
  char syscall[48];
  char path[512];
};

// Caller side: runs plan through berth-nsenter at plan.helperPath. `encoded` is the plan as
// encodePlan wrote it. With plan.joinPid: exec in that running container, returning once the
// command has exec'd. Without: the OCI create, returning once the init waits for start (its pidfd
// and pid; the caller may exit and leave it to its subreaper). Throws SysError or ChildError.
Spawned spawnInside(const SpawnPlan& plan, const uint8_t* encoded, size_t len);

}  // namespace berth
