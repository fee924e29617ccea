#pragma once
#include <linux/filter.h>
#include <sched.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"

namespace berth {

// One step of rootfs preparation, run by the child before pivot_root. All paths and options come
// from TypeScript already normalized; targets are relative to the rootfs.
struct MountOp {
  // kWrite: `data` written to the file `target` (sysctls, through the container's /proc/sys)
  enum Kind { kMount, kMkdir, kMknod, kSymlink, kWrite } kind = kMount;
  std::string target;
  std::string source;
  std::string fstype;
  std::string data;
  unsigned long flags = 0;
  int create = 0;  // 0 none, 1 directory, 2 empty file
  bool sourceInRoot = false;
  bool optional = false;
  // A mask or read-only path: the one kind of op whose target may be in procfs or sysfs.
  bool intoKernelFs = false;
  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC), set on the target after the mount
  unsigned long propagation = 0;
  unsigned mode = 0;
  uint64_t rdev = 0;
};

struct SpawnPlan {
  int cloneFlags = 0;          // CLONE_NEW* chosen by the caller (without CLONE_NEWCGROUP)
  bool unshareCgroup = false;  // after the cgroup join
  std::string rootfs;
  std::string rootfsSource, rootfsFstype, rootfsData;
  unsigned long rootfsFlags = 0;
  std::vector<MountOp> mounts;
  std::string hostname;
  std::vector<std::string> cgroupDirs;
  std::vector<std::pair<std::string, std::string>> cgroupWrites;
  std::vector<std::string> cgroupProcs;
  bool loopbackUp = false;
  std::vector<std::string> execCandidates;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::vector<int> capsDrop;
  uint32_t capsKeep[2] = {0, 0};
  bool noNewPrivileges = false;
  int stdio[3] = {0, 1, 2};
  bool tty = false;
  unsigned short ttyRows = 24, ttyCols = 80;
  int parentDeathSignal = 0;
  // Exec the command with every signal blocked: only for berth-init, which takes them with
  // sigwaitinfo and gives its own child an empty mask.
  bool blockSignals = false;
  // exec: join the namespaces and cgroup of this running process instead of creating any; no
  // rootfs, mounts or pivot_root (the namespaces already have them). Done by berth-nsenter
  // (core/enter.h) at helperPath, never by a process that shares the caller's memory.
  pid_t joinPid = 0;
  std::string helperPath;
  // --init: this static executable (berth-init) runs as the command, from a sealed memfd copy;
  // argv is then its arguments and execCandidates are not used.
  std::string initPath;
  // A network namespace pinned by a bind mount (createNetns) to join instead of creating one:
  // it outlives the process, so restarts keep their network. cloneFlags then lack CLONE_NEWNET.
  std::string netnsPath;
  // Install berth's default seccomp filter (core/seccomp.h) before dropping privileges.
  bool seccomp = false;

  // The OCI runtime's create (berth-nsenter with joinPid 0): the init does everything but execve,
  // reports ready, then blocks opening this fifo for writing until `start` opens it for reading.
  std::string execFifoPath;
  // process.terminal under berth-oci: the pty master goes to this unix socket (SCM_RIGHTS).
  std::string consoleSocket;
  bool rootfsReadonly = false;
  unsigned long rootfsPropagation = 0;  // applied to / after pivot_root; 0: left private
  bool noPivot = false;                 // MS_MOVE + chroot instead of pivot_root (runc --no-pivot)
  unsigned umask = 022;                 // the command's
  struct Rlimit {
    int resource;
    uint64_t soft, hard;
  };
  std::vector<Rlimit> rlimits;
  std::string oomScoreAdj;  // written to /proc/self/oom_score_adj when not empty
  std::string domainname;   // with a new UTS namespace
  // Namespaces joined by path before clone (setns type flag, path): a pod's shared network,
  // IPC, UTS or PID namespace. Only berth-nsenter, a single-threaded process, joins them.
  std::vector<std::pair<int, std::string>> joinNamespaces;
  // A compiled seccomp program (struct sock_filter[], 8 bytes each) instead of berth's default.
  std::string seccompFilter;
  // An OCI config's capability sets, which apply to non-root users too (berth run's do not:
  // docker gives a non-root user no capabilities).
  bool capsForAnyUser = false;
  uint32_t capsInheritable[2] = {0, 0};
  std::vector<int> capsAmbient;
  // With CLONE_NEWUSER in cloneFlags (berth-nsenter only): written verbatim to the child's
  // /proc/PID/uid_map and gid_map by the process that cloned it, while the child waits.
  std::string uidMap, gidMap;
  // runc's --preserve-fds (berth-nsenter only): the caller's fds 3..3+N-1, which berth-nsenter
  // holds from kEnterPreservedFd on (core/enter.h), become the command's 3..3+N-1.
  int preserveFds = 0;
  // OCI createContainer hooks (berth-oci's create only): run by the init after its mounts and
  // before pivot_root, in its namespaces with the host's root still in view, each with the state
  // JSON on stdin: hookStateHead, the init's pid, hookStateTail.
  struct Hook {
    std::string path;
    std::vector<std::string> args, env;
    int timeout = 0;  // seconds; 0 waits for ever
  };
  std::vector<Hook> createContainerHooks;
  std::string hookStateHead, hookStateTail;
};

struct Spawned {
  pid_t pid;
  int pidfd;
  int ptyMaster;  // -1 without a tty
};

// Thrown when the child failed before execve: the step, errno and the index of the op involved.
struct ChildError {
  ChildFailure failure;
  std::string path;  // the op target / candidate / cgroup file the index names
};

// Creates the container process: namespaces, cgroup, rootfs, pivot_root, credentials, execve.
// Returns once the child has exec'd; throws SysError (parent-side failure) or ChildError.
Spawned spawn(const SpawnPlan& plan);

// A start whose init is not the first process of a new PID namespace of its own (--pid host, or
// another container's joined by path): a clone of the caller would be visible to processes while
// it still shares the caller's memory, so berth-nsenter starts it instead (core/enter.h).
inline bool startsThroughHelper(const SpawnPlan& plan) {
  return !(plan.cloneFlags & CLONE_NEWPID) || !plan.joinNamespaces.empty();
}

// A failed create whose child was started (it exits on its own; the caller reaps it by pid).
struct CreatedError {
  pid_t pid;
  ChildError error;
};

// The OCI create: the same start, but the child has memory of its own (it outlives the caller),
// is the caller's parent's child (CLONE_PARENT), and stops before execve on the exec fifo. Returns
// its pid once it is ready; throws SysError, or CreatedError. Only for single-threaded berth-nsenter.
pid_t spawnCreated(const SpawnPlan& plan, int consoleSocket, int execFifoFd);
// The first half of the OCI create: the container's cgroup made and joined by the caller itself,
// before it joins any namespace (a user namespace's root has no say over the host's cgroupfs).
void joinCreatedCgroup(const SpawnPlan& plan);

// Child side (child.cc). Runs on its own stack in the parent's address space (CLONE_VM|CLONE_VFORK).
struct ChildContext {
  const SpawnPlan* plan;
  char* const* argv;
  char* const* env;
  const int* procsFds;
  int procsCount;
  int ttySocket;  // child end of the socketpair the pty master is sent over, or -1
  ChildFailure failure;
  int netnsFd = -1;  // plan.netnsPath, opened by the parent
  int initFd = -1;   // the sealed copy of plan.initPath
  // create mode: failures (and then `ready`) are written here as ChildFailure records, since the
  // child does not share our memory; and the exec fifo (O_PATH) it waits on before execve
  int statusFd = -1;
  int execFifoFd = -1;
  // berth-nsenter already put the command's stdio (or the pty's peer) on 0, 1 and 2
  bool stdioReady = false;
  const struct sock_fprog* seccomp = nullptr;  // built by the parent when plan.seccomp
  // A new user namespace: the read end of the pipe the parent writes one byte to once it has
  // written the id maps (EOF: it failed, and says so itself).
  int usernsSyncFd = -1;
  int usernsSyncWriteFd = -1;  // our copy of the parent's end, closed first: EOF must be seen
  // In a user namespace other than the caller's (new, or joined by path before clone): become its
  // root before anything else, and keep locked mount flags on remounts.
  bool inUserns = false;
  // plan.createContainerHooks as C arrays, prepared before clone
  struct HookExec {
    const char* path;
    char* const* argv;
    char* const* env;
    int timeout;
  };
  const HookExec* hooks = nullptr;
  int hookCount = 0;
  // a new container's start (not exec): plan.rlimits are set just before credentials drop
  bool applyRlimits = false;
};
int childMain(void* arg);
// child_hooks.cc: plan.createContainerHooks, in order; {kNone} when every one exited 0.
ChildFailure runCreateContainerHooks(const ChildContext* ctx);
// The end of every start: working directory, stdio, credentials, execve. Never returns.
[[noreturn]] void execCommand(ChildContext* ctx, const SpawnPlan& plan);

// resolve.cc: open `path` (relative to rootfd) without ever leaving rootfd; create missing
// components when asked. Returns an O_PATH fd or -errno.
int resolveInRoot(int rootfd, const char* path, int create);

// cgroup.cc
void cgroupPrepare(const SpawnPlan& plan);

}  // namespace berth
