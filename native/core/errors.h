#pragma once
#include <string>

namespace berth {

// A failed system call in the parent process; the addon turns it into a Node-style error
// (code, errno, syscall, path).
struct SysError {
  int err;
  std::string syscall;
  std::string path;
};

[[noreturn]] void throwSys(int err, const char* syscall, const std::string& path = "");

// Every step the container's process can fail at between clone and execve. The names are the
// vocabulary shared with TypeScript (src/runtime/child-steps.ts mirrors this list); a step crosses
// a process boundary (berth-nsenter's report) as its number, so keep the order append-only.
// One step a line (test/unit/child-steps.test.ts reads them):
// clang-format off
#define BERTH_CHILD_STEPS(X) \
  X(None, "") \
  X(ParentDeathSignal, "parent death signal") \
  X(JoinCgroup, "join cgroup") \
  X(UnshareCgroup, "unshare cgroup namespace") \
  X(Sethostname, "sethostname") \
  X(JoinNetns, "join network namespace") \
  X(Socket, "socket") \
  X(LoopbackUp, "loopback up") \
  X(MakeRootPrivate, "make / private") \
  X(MountRootfs, "mount rootfs") \
  X(OpenRootfs, "open rootfs") \
  X(Mkdir, "mkdir") \
  X(Mknod, "mknod") \
  X(Symlink, "symlink") \
  X(Mount, "mount") \
  X(RemountReadOnly, "remount read-only") \
  X(MountTargetInKernelFs, "mount target in /proc or /sys") \
  X(OpenOldRoot, "open /") \
  X(ChdirRootfs, "chdir rootfs") \
  X(PivotRoot, "pivot_root") \
  X(ChdirOldRoot, "chdir old root") \
  X(MakeOldRootSlave, "make old root slave") \
  X(DetachOldRoot, "detach old root") \
  X(ChdirSlash, "chdir /") \
  X(Chdir, "chdir") \
  X(OpenPtmx, "open /dev/pts/ptmx") \
  X(Unlockpt, "unlockpt") \
  X(OpenPtyPeer, "open pty peer") \
  X(Setsid, "setsid") \
  X(SetControllingTty, "set controlling terminal") \
  X(Dup2, "dup2") \
  X(SendPtyMaster, "send pty master") \
  X(DupStdio, "dup stdio") \
  X(Dup2Stdio, "dup2 stdio") \
  X(CloseRange, "close_range") \
  X(NoNewPrivs, "no_new_privs") \
  X(DropCapability, "drop capability") \
  X(Seccomp, "seccomp") \
  X(Setgroups, "setgroups") \
  X(Setgid, "setgid") \
  X(Setuid, "setuid") \
  X(Capset, "capset") \
  X(Execve, "execve") \
  X(Setns, "setns") \
  X(Clone, "clone") \
  X(PidfdOpen, "pidfd_open") \
  X(NotDumpable, "set non-dumpable") \
  X(OpenCgroup, "open cgroup") \
  X(OpenNetns, "open network namespace") \
  X(DecodePlan, "decode plan") \
  X(WriteFile, "write") \
  X(MountPropagation, "mount propagation") \
  X(Setrlimit, "setrlimit") \
  X(OomScoreAdj, "oom_score_adj") \
  X(JoinNamespace, "join namespace") \
  X(ConsoleSocket, "console socket") \
  X(ExecFifo, "exec fifo") \
  X(CreateContainerHook, "createContainer hook") \
  X(CreateContainerHookTimeout, "createContainer hook timeout")
// clang-format on

enum class Step : unsigned char {
#define BERTH_STEP_ENUM(id, name) k##id,
  BERTH_CHILD_STEPS(BERTH_STEP_ENUM)
#undef BERTH_STEP_ENUM
      kCount
};

// The step's name as TypeScript and the shim's status line know it ("" for kNone).
const char* stepName(Step step);

// Exit status a shell (and docker) gives a command that could not be started: 127 when the
// program does not exist, 126 when it exists but cannot be run, 125 for the runtime's own failure.
int startFailureStatus(Step step, int err);

// What the container's child process reports when it fails between clone and execve. It lives in
// memory the child shares with the parent (CLONE_VM), so the child only stores three words.
struct ChildFailure {
  Step step;  // kNone: no failure
  int err;    // errno
  int index;  // which mount op / exec candidate / cgroup file, or -1
};

}  // namespace berth
