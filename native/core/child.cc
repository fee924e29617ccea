// The container's first process, between clone and execve. It shares the parent's memory
// (CLONE_VM|CLONE_VFORK: the parent thread is suspended until execve or exit), so it allocates
// nothing, calls nothing that takes a lock, and uses raw system calls for credentials (glibc's
// setuid family would signal the parent's other threads). Every input was prepared before clone.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "core/enter.h"
#include "core/io.h"
#include "core/spawn.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace berth {
namespace {

[[noreturn]] void fail(ChildContext* ctx, Step step, int err, int index = -1) {
  ctx->failure.step = step;
  ctx->failure.err = err;
  ctx->failure.index = index;
  // create mode: the parent does not share our memory and learns it from the status pipe
  if (ctx->statusFd >= 0) writeAll(ctx->statusFd, &ctx->failure, sizeof ctx->failure);
  _exit(127);
}

// "/proc/self/fd/<fd>" into buf, without snprintf.
const char* fdPath(char* buf, int fd) {
  static const char prefix[] = "/proc/self/fd/";
  char digits[16];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + fd % 10);
    fd /= 10;
  } while (fd > 0);
  memcpy(buf, prefix, sizeof prefix - 1);
  int i = sizeof prefix - 1;
  while (n > 0) buf[i++] = digits[--n];
  buf[i] = '\0';
  return buf;
}

void resetSignals() {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &sa, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Splits "a/b/c" into the parent "a/b" (written to dir) and the last name "c".
const char* splitLast(const char* path, char* dir, size_t cap) {
  size_t len = strlen(path);
  while (len > 0 && path[len - 1] == '/') len--;
  size_t slash = len;
  while (slash > 0 && path[slash - 1] != '/') slash--;
  size_t dlen = slash;
  if (dlen >= cap) dlen = cap - 1;
  memcpy(dir, path, dlen);
  dir[dlen] = '\0';
  return path + slash;
}

void runMountOp(ChildContext* ctx, int rootfd, const MountOp& op, int index) {
  char fdbuf[32], srcbuf[32];
  if (op.kind == MountOp::kMkdir) {
    int fd = resolveInRoot(rootfd, op.target.c_str(), 1);
    if (fd < 0) fail(ctx, Step::kMkdir, -fd, index);
    close(fd);
    return;
  }
  if (op.kind == MountOp::kWrite) {
    // A sysctl: the file is reached without leaving the rootfs, then reopened for writing.
    int fd = resolveInRoot(rootfd, op.target.c_str(), 0);
    if (fd < 0) fail(ctx, Step::kWriteFile, -fd, index);
    int wfd = static_cast<int>(open(fdPath(fdbuf, fd), O_WRONLY | O_CLOEXEC));
    if (wfd < 0 || !writeAll(wfd, op.data.data(), op.data.size())) fail(ctx, Step::kWriteFile, errno, index);
    close(wfd);
    close(fd);
    return;
  }
  if (op.kind == MountOp::kMknod || op.kind == MountOp::kSymlink) {
    char dir[4096];
    const char* name = splitLast(op.target.c_str(), dir, sizeof dir);
    int dfd = resolveInRoot(rootfd, dir, 1);
    if (dfd < 0) fail(ctx, op.kind == MountOp::kMknod ? Step::kMknod : Step::kSymlink, -dfd, index);
    // Names are created through the resolved directory fd (O_PATH fds work as dirfd), never
    // through a path string that could be swapped.
    int r = op.kind == MountOp::kMknod ? mknodat(dfd, name, op.mode, static_cast<dev_t>(op.rdev))
                                       : symlinkat(op.source.c_str(), dfd, name);
    if (r < 0 && errno != EEXIST) fail(ctx, op.kind == MountOp::kMknod ? Step::kMknod : Step::kSymlink, errno, index);
    close(dfd);
    return;
  }
  int tfd = resolveInRoot(rootfd, op.target.c_str(), op.create);
  if (tfd < 0) {
    if (op.optional && tfd == -ENOENT) return;
    fail(ctx, Step::kMount, -tfd, index);
  }
  // A volume over /proc/sys/kernel (an image's symlink /data -> /proc/sys/kernel) would hand the
  // container the host's kernel knobs: only the masks and read-only paths may land in procfs/sysfs.
  if (!op.intoKernelFs) {
    struct statfs fs;
    if (fstatfs(tfd, &fs) < 0) fail(ctx, Step::kMount, errno, index);
    if (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC)
      fail(ctx, Step::kMountTargetInKernelFs, EPERM, index);
  }
  const char* source = op.source.empty() ? nullptr : op.source.c_str();
  int sfd = -1;
  if (op.sourceInRoot) {
    sfd = resolveInRoot(rootfd, op.source.c_str(), 0);
    if (sfd < 0) fail(ctx, Step::kMount, -sfd, index);
    source = fdPath(srcbuf, sfd);
  }
  const char* fstype = op.fstype.empty() ? nullptr : op.fstype.c_str();
  const char* data = op.data.empty() ? nullptr : op.data.c_str();
  if (mount(source, fdPath(fdbuf, tfd), fstype, op.flags, data) < 0) fail(ctx, Step::kMount, errno, index);
  // A read-only bind needs a second, remounting call: MS_RDONLY is ignored on the first.
  if ((op.flags & MS_BIND) && (op.flags & MS_RDONLY) && !(op.flags & MS_REMOUNT)) {
    // tfd still names the directory underneath the new mount: reopen to reach the mount itself.
    int mfd = resolveInRoot(rootfd, op.target.c_str(), 0);
    if (mfd < 0) fail(ctx, Step::kRemountReadOnly, -mfd, index);
    unsigned long ro = MS_BIND | MS_REMOUNT | MS_RDONLY | (op.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC));
    if (ctx->inUserns) ro |= mountFlagsOf(fdPath(fdbuf, mfd));
    if (mount(nullptr, fdPath(fdbuf, mfd), nullptr, ro, nullptr) < 0) fail(ctx, Step::kRemountReadOnly, errno, index);
    close(mfd);
  }
  if (op.propagation) {
    int pfd = resolveInRoot(rootfd, op.target.c_str(), 0);
    if (pfd < 0) fail(ctx, Step::kMountPropagation, -pfd, index);
    if (mount(nullptr, fdPath(fdbuf, pfd), nullptr, op.propagation, nullptr) < 0)
      fail(ctx, Step::kMountPropagation, errno, index);
    close(pfd);
  }
  if (sfd >= 0) close(sfd);
  close(tfd);
}

// runc's --no-pivot, for a rootfs pivot_root refuses (on a ramdisk): the rootfs is moved over /
// and chrooted into; the old root stays reachable underneath, so this is the weaker isolation.
void moveRoot(ChildContext* ctx, int rootfd) {
  if (fchdir(rootfd) < 0) fail(ctx, Step::kChdirRootfs, errno);
  if (mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) fail(ctx, Step::kPivotRoot, errno);
  if (chroot(".") < 0) fail(ctx, Step::kPivotRoot, errno);
  if (chdir("/") < 0) fail(ctx, Step::kChdirSlash, errno);
}

// What the OCI config asks of the root once it is /: read-only, its propagation, the OOM score.
void finishRoot(ChildContext* ctx, const SpawnPlan& plan) {
  unsigned long locked = ctx->inUserns ? mountFlagsOf("/") : 0;
  if (plan.rootfsReadonly && mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | locked, nullptr) < 0)
    fail(ctx, Step::kRemountReadOnly, errno);
  if (plan.rootfsPropagation && mount(nullptr, "/", nullptr, plan.rootfsPropagation, nullptr) < 0)
    fail(ctx, Step::kMountPropagation, errno);
  if (!plan.oomScoreAdj.empty()) {
    int fd = static_cast<int>(open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
    if (fd < 0 || !writeAll(fd, plan.oomScoreAdj.data(), plan.oomScoreAdj.size())) fail(ctx, Step::kOomScoreAdj, errno);
    close(fd);
  }
}

// The mount namespace's propagation before the rootfs is mounted. Without a
// linux.rootfsPropagation everything is made private: nothing propagates between the host and the
// container. With one it is set on / instead (as runc's prepareRoot does), so that binds of the
// host's shared mounts keep receiving (rslave) or exchanging (shared) mounts; then the mount the
// rootfs is mounted on is made private unless it already cannot send (a recursive slave or
// private /): the rootfs mount must not propagate to the host, and pivot_root refuses a shared
// parent. That mount is found walking up from the rootfs: MS_PRIVATE on a path that is not a
// mount's root fails with EINVAL.
void prepareRootPropagation(ChildContext* ctx, const SpawnPlan& plan) {
  unsigned long p = plan.rootfsPropagation;
  if (!p) {
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) fail(ctx, Step::kMakeRootPrivate, errno);
    return;
  }
  if (mount(nullptr, "/", nullptr, p, nullptr) < 0) fail(ctx, Step::kMakeRootPrivate, errno);
  if ((p & MS_REC) && (p & (MS_SLAVE | MS_PRIVATE))) return;
  char dir[PATH_MAX];
  size_t n = plan.rootfs.size();
  if (n == 0 || n >= sizeof dir) fail(ctx, Step::kMakeRootPrivate, ENAMETOOLONG);
  memcpy(dir, plan.rootfs.c_str(), n + 1);
  for (;;) {
    if (mount(nullptr, dir, nullptr, MS_PRIVATE, nullptr) == 0) return;
    if (errno != EINVAL || n <= 1) fail(ctx, Step::kMakeRootPrivate, errno);
    while (n > 1 && dir[n - 1] == '/') dir[--n] = 0;
    while (n > 1 && dir[n - 1] != '/') dir[--n] = 0;
    if (n > 1) dir[--n] = 0;
  }
}

void pivotRoot(ChildContext* ctx, int rootfd) {
  if (fchdir(rootfd) < 0) fail(ctx, Step::kChdirRootfs, errno);
  // With a linux.rootfsPropagation the old root may still have peers on the host: its lazy detach
  // would propagate unmounts of its submounts to them. It is made a slave first (as runc does),
  // which needs a path to it: pivoted onto the container's /dev (a mount of its own, private, the
  // directory it was mounted on checked inside the rootfs), the old root is the top mount at
  // "/dev" until detached, and the /dev below it is the container's again.
  if (ctx->plan->rootfsPropagation) {
    int dev = resolveInRoot(rootfd, "dev", 0);
    if (dev >= 0) {
      char fdbuf[32];
      if (syscall(SYS_pivot_root, ".", fdPath(fdbuf, dev)) < 0) fail(ctx, Step::kPivotRoot, errno);
      close(dev);
      if (mount(nullptr, "/dev", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) fail(ctx, Step::kDetachOldRoot, errno);
      if (umount2("/dev", MNT_DETACH) < 0) fail(ctx, Step::kDetachOldRoot, errno);
      if (chdir("/") < 0) fail(ctx, Step::kChdirSlash, errno);
      return;
    }
  }
  // pivot_root(".", ".") stacks the old root on top of the new one, and "." (our working
  // directory) is then the top of that stack for umount2: detaching it leaves only the
  // container's rootfs, with no directory for the old root to linger in (pivot_root(2)). No
  // descriptor of the host's root is ever opened: a process that joined a shared PID namespace is
  // visible here, and such a descriptor would be a way out. Everything was made private at the
  // start, so the detach does not propagate to the host; with a rootfsPropagation but no /dev,
  // the whole tree is made a slave first (mount(2) on "." names the new root, not the one on top).
  if (syscall(SYS_pivot_root, ".", ".") < 0) fail(ctx, Step::kPivotRoot, errno);
  if (ctx->plan->rootfsPropagation && mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    fail(ctx, Step::kDetachOldRoot, errno);
  if (umount2(".", MNT_DETACH) < 0) fail(ctx, Step::kDetachOldRoot, errno);
  if (chdir("/") < 0) fail(ctx, Step::kChdirSlash, errno);
}

void setupTty(ChildContext* ctx, const SpawnPlan& plan) {
  int master = static_cast<int>(open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (master < 0) fail(ctx, Step::kOpenPtmx, errno);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) fail(ctx, Step::kUnlockpt, errno);
  struct winsize ws;
  memset(&ws, 0, sizeof ws);
  ws.ws_row = plan.ttyRows;
  ws.ws_col = plan.ttyCols;
  ioctl(master, TIOCSWINSZ, &ws);
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) fail(ctx, Step::kOpenPtyPeer, errno);
  if (setsid() < 0) fail(ctx, Step::kSetsid, errno);
  if (ioctl(slave, TIOCSCTTY, 0) < 0) fail(ctx, Step::kSetControllingTty, errno);
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0) fail(ctx, Step::kDup2, errno);
  if (slave > 2) close(slave);

  if (int err = sendFd(ctx->ttySocket, master)) fail(ctx, Step::kSendPtyMaster, err);
  close(master);
  close(ctx->ttySocket);
}

void setupStdio(ChildContext* ctx, const SpawnPlan& plan) {
  if (setsid() < 0) fail(ctx, Step::kSetsid, errno);
  // Move the sources out of the way first so that one target never clobbers another source.
  int high[3];
  for (int i = 0; i < 3; i++) {
    high[i] = fcntl(plan.stdio[i], F_DUPFD_CLOEXEC, 10);
    if (high[i] < 0) fail(ctx, Step::kDupStdio, errno, i);
  }
  for (int i = 0; i < 3; i++) {
    if (dup2(high[i], i) < 0) fail(ctx, Step::kDup2Stdio, errno, i);
    close(high[i]);
  }
}

void dropPrivileges(ChildContext* ctx, const SpawnPlan& plan) {
  if (plan.noNewPrivileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(ctx, Step::kNoNewPrivs, errno);
  for (int cap : plan.capsDrop)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) fail(ctx, Step::kDropCapability, errno, cap);
  // While CAP_SYS_ADMIN is still effective (no no_new_privs needed); the calls below are allowed.
  if (ctx->seccomp && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, ctx->seccomp) < 0)
    fail(ctx, Step::kSeccomp, errno);
  // An OCI config's sets hold for any user: keep the permitted set across the uid change.
  if (plan.capsForAnyUser && plan.uid != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail(ctx, Step::kCapset, errno);
  if (syscall(SYS_setgroups, plan.groups.size(), plan.groups.data()) < 0) fail(ctx, Step::kSetgroups, errno);
  if (syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) < 0) fail(ctx, Step::kSetgid, errno);
  if (syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) < 0) fail(ctx, Step::kSetuid, errno);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (plan.uid == 0 || plan.capsForAnyUser) {
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    for (int i = 0; i < 2; i++) {
      data[i].effective = data[i].permitted = plan.capsKeep[i];
      data[i].inheritable = plan.capsInheritable[i];
    }
    if (syscall(SYS_capset, &hdr, data) < 0) fail(ctx, Step::kCapset, errno);
    // Ambient capabilities survive the execve of a non-root user's program (each must be in the
    // permitted and inheritable sets).
    for (int cap : plan.capsAmbient)
      if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) fail(ctx, Step::kCapset, errno, cap);
  }
}

// The OCI create: everything is done but execve. A command that cannot be found fails here, at
// create, as runc's does; then `ready` on the status pipe, and the wait for start: opening the exec
// fifo for writing blocks until `berth-oci start` opens it for reading.
void waitForStart(ChildContext* ctx, const SpawnPlan& plan) {
  bool found = ctx->initFd >= 0;
  for (size_t i = 0; i < plan.execCandidates.size() && !found; i++)
    found = access(plan.execCandidates[i].c_str(), X_OK) == 0;
  if (!found) fail(ctx, Step::kExecve, ENOENT, 0);
  ChildFailure ready = {Step::kNone, 0, -1};
  if (!writeAll(ctx->statusFd, &ready, sizeof ready)) _exit(127);
  close(ctx->statusFd);
  ctx->statusFd = -1;
  char buf[32];
  int fifo = static_cast<int>(open(fdPath(buf, ctx->execFifoFd), O_WRONLY | O_CLOEXEC));
  if (fifo < 0 || write(fifo, "0", 1) != 1) _exit(127);
  close(fifo);
  close(ctx->execFifoFd);
}

// berth-nsenter has already put the command's stdio (or its pty's peer) on 0, 1 and 2.
void adoptStdio(ChildContext* ctx, const SpawnPlan& plan) {
  if (setsid() < 0) fail(ctx, Step::kSetsid, errno);
  if (plan.tty && ioctl(0, TIOCSCTTY, 0) < 0) fail(ctx, Step::kSetControllingTty, errno);
}

}  // namespace

[[noreturn]] void execCommand(ChildContext* ctx, const SpawnPlan& plan) {
  if (chdir(plan.cwd.c_str()) < 0) fail(ctx, Step::kChdir, errno);
  if (ctx->stdioReady)
    adoptStdio(ctx, plan);
  else if (plan.tty)
    setupTty(ctx, plan);
  else
    setupStdio(ctx, plan);
  if (plan.preserveFds) {
    int* keep[] = {&ctx->statusFd, &ctx->execFifoFd, &ctx->initFd};
    if (int err = placePreservedFds(kEnterPreservedFd, plan.preserveFds, keep, 3)) fail(ctx, Step::kDup2, err);
  }
  // Nothing of the parent's survives execve except 0, 1, 2 (and --preserve-fds' 3..3+N-1).
  if (syscall(SYS_close_range, 3U + static_cast<unsigned>(plan.preserveFds), ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    fail(ctx, Step::kCloseRange, errno);
  // After stdio is in place (a low RLIMIT_NOFILE would refuse the descriptors it is moved
  // through) and while still privileged (raising a hard limit needs CAP_SYS_RESOURCE).
  if (ctx->applyRlimits) {
    for (const SpawnPlan::Rlimit& l : plan.rlimits) {
      struct rlimit64 value = {l.soft, l.hard};
      if (syscall(SYS_prlimit64, 0, l.resource, &value, nullptr) < 0) fail(ctx, Step::kSetrlimit, errno, l.resource);
    }
  }
  dropPrivileges(ctx, plan);
  umask(plan.umask);
  if (plan.blockSignals) {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
  }

  if (ctx->execFifoFd >= 0) waitForStart(ctx, plan);
  if (ctx->initFd >= 0) {
    // berth-init from a sealed in-memory copy: the container's PID 1 has no host file as its
    // /proc/1/exe that root inside could open for writing (CVE-2019-5736).
    syscall(SYS_execveat, ctx->initFd, "", ctx->argv, ctx->env, AT_EMPTY_PATH);
    fail(ctx, Step::kExecve, errno, 0);
  }
  int err = ENOENT, at = 0;
  for (size_t i = 0; i < plan.execCandidates.size(); i++) {
    execve(plan.execCandidates[i].c_str(), ctx->argv, ctx->env);
    // Like execvp: a later candidate may still work; remember the most telling failure.
    if (errno != ENOENT && errno != ENOTDIR) {
      if (err == ENOENT) {
        err = errno;
        at = static_cast<int>(i);
      }
    }
  }
  fail(ctx, Step::kExecve, err, at);
}

int childMain(void* arg) {
  auto* ctx = static_cast<ChildContext*>(arg);
  const SpawnPlan& plan = *ctx->plan;
  resetSignals();
  // Device nodes and volume directories get exactly the modes asked for; the container's own
  // processes get the conventional 022 back below.
  umask(0);
  if (plan.parentDeathSignal && prctl(PR_SET_PDEATHSIG, plan.parentDeathSignal, 0, 0, 0) < 0)
    fail(ctx, Step::kParentDeathSignal, errno);
  // A new user namespace has no ids until the parent has written its maps (EOF: it could not, and
  // says why itself). Then its root (as runc's init): what is made below is the container root's.
  if (ctx->usernsSyncFd >= 0) {
    char mapped;
    close(ctx->usernsSyncWriteFd);
    if (read(ctx->usernsSyncFd, &mapped, 1) != 1) _exit(127);
    close(ctx->usernsSyncFd);
  }
  if (ctx->inUserns) {
    if (syscall(SYS_setresgid, 0, 0, 0) < 0) fail(ctx, Step::kSetgid, errno);
    if (syscall(SYS_setresuid, 0, 0, 0) < 0) fail(ctx, Step::kSetuid, errno);
    if (syscall(SYS_setgroups, 0, nullptr) < 0) fail(ctx, Step::kSetgroups, errno);
  }
  for (int i = 0; i < ctx->procsCount; i++)
    if (write(ctx->procsFds[i], "0", 1) < 0) fail(ctx, Step::kJoinCgroup, errno, i);
  // Our copies only (no CLONE_FILES): nothing of the host's cgroupfs stays open in the container.
  for (int i = 0; i < ctx->procsCount; i++) close(ctx->procsFds[i]);
  if (plan.unshareCgroup && unshare(CLONE_NEWCGROUP) < 0) fail(ctx, Step::kUnshareCgroup, errno);
  // (an OCI config without a hostname keeps the one the new namespace copied)
  if ((plan.cloneFlags & CLONE_NEWUTS) && !plan.hostname.empty() &&
      sethostname(plan.hostname.data(), plan.hostname.size()) < 0)
    fail(ctx, Step::kSethostname, errno);
  if ((plan.cloneFlags & CLONE_NEWUTS) && !plan.domainname.empty() &&
      setdomainname(plan.domainname.data(), plan.domainname.size()) < 0)
    fail(ctx, Step::kSethostname, errno);
  if (ctx->netnsFd >= 0 && setns(ctx->netnsFd, CLONE_NEWNET) < 0) fail(ctx, Step::kJoinNetns, errno);
  if (plan.loopbackUp) {
    if (int err = bringLoopbackUp()) fail(ctx, Step::kLoopbackUp, err);
  }

  prepareRootPropagation(ctx, plan);
  if (mount(plan.rootfsSource.c_str(), plan.rootfs.c_str(), plan.rootfsFstype.c_str(), plan.rootfsFlags,
            plan.rootfsData.empty() ? nullptr : plan.rootfsData.c_str()) < 0)
    fail(ctx, Step::kMountRootfs, errno);
  int rootfd = static_cast<int>(open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (rootfd < 0) fail(ctx, Step::kOpenRootfs, errno);
  int index = 0;
  for (const MountOp& op : plan.mounts) runMountOp(ctx, rootfd, op, index++);
  ChildFailure hook = runCreateContainerHooks(ctx);
  if (hook.step != Step::kNone) fail(ctx, hook.step, hook.err, hook.index);
  if (plan.noPivot)
    moveRoot(ctx, rootfd);
  else
    pivotRoot(ctx, rootfd);
  close(rootfd);
  finishRoot(ctx, plan);
  ctx->applyRlimits = true;
  execCommand(ctx, plan);
}

}  // namespace berth
