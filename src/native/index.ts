/**
 * The only importer of the compiled addon. Everything here is a thin typed view of
 * native/addon: TypeScript validates and normalizes, C++ only executes.
 */
import * as path from 'node:path';
import { encodePlan } from './plan-codec';

/** One step the container's child process performs, in order, before pivot_root. Targets are
 *  paths inside the rootfs, resolved by C++ without ever leaving it (symlinks are followed as the
 *  container would see them; one that climbs above the root is an error). */
export interface NativeMountOp {
  /** 'mount': mount(2) source on target; 'mkdir': create a directory; 'mknod': a device node;
   *  'symlink': target becomes a link to `source`. */
  kind: 'mount' | 'mkdir' | 'mknod' | 'symlink' | 'write';
  target: string;
  /** mount: host path or fs name; symlink: the link text */
  source: string;
  fstype: string;
  flags: number;
  data: string;
  /** For mount: create the target first, 0 = no, 1 = as a directory, 2 = as an empty file. */
  create: 0 | 1 | 2;
  /** Resolve `source` inside the rootfs too (bind a rootfs path onto itself). */
  sourceInRoot: boolean;
  /** A missing target (ENOENT) skips this op instead of failing. */
  optional: boolean;
  /** mknod/mkdir: mode bits including the file type; mknod: device number (makedev). */
  mode: number;
  rdev: number;
  /** A mask or read-only path of /proc or /sys: every other op refuses a target that resolves into
   *  procfs or sysfs (an image symlink /data -> /proc/sys/kernel must not put a volume there). */
  intoKernelFs?: boolean;
  /** MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE (| MS_REC), set on the target after the mount. */
  propagation?: number;
}

export interface NativeSpawnPlan {
  /** Names from: pid, mnt, uts, ipc, net, cgroup, user. cgroup is unshared after the cgroup join;
   *  user (berth-nsenter only) is cloned with the others, which it then owns: the creating process
   *  writes uidMap and gidMap while the child waits, then the child becomes root in it. */
  namespaces: string[];
  /** Host path the rootfs is mounted on inside the new mount namespace. */
  rootfs: string;
  rootfsMount: { source: string; fstype: string; flags: number; data: string };
  mounts: NativeMountOp[];
  hostname: string;
  /** Directories created (mkdir -p semantics, EEXIST ok) then files written, in order, before clone. */
  cgroupDirs: string[];
  cgroupWrites: Array<[string, string]>;
  /** cgroup.procs (or tasks) files the child writes itself into, before it unshares its cgroup ns. */
  cgroupProcs: string[];
  loopbackUp: boolean;
  /** Absolute paths tried in order for execve (PATH lookup is done by TypeScript). */
  execCandidates: string[];
  argv: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  groups: number[];
  /** Capability numbers to drop from the bounding set; `capsKeep` is the effective/permitted mask. */
  capsDrop: number[];
  capsKeep: [number, number];
  noNewPrivileges: boolean;
  /** Host fds that become the container's 0, 1, 2; ignored when tty is set. */
  stdio: [number, number, number];
  tty: boolean;
  ttySize: [number, number];
  /** Signal the container gets when the thread that spawned it dies (0 = none). */
  parentDeathSignal: number;
  /** exec: join this running process's namespaces (those listed) and cgroup instead of creating
   *  them; rootfs and mounts are then ignored. Done by berth-nsenter at helperPath (native/core/enter.h). */
  joinPid?: number;
  helperPath?: string;
  /** --init: run this static executable (berth-init) as the command, from a sealed in-memory copy,
   *  with argv as its arguments; execCandidates are then unused and may be empty. */
  initPath?: string;
  /** Exec with every signal blocked (berth-init only, which unblocks them for its child). */
  blockSignals?: boolean;
  /** Join this pinned network namespace (createNetns) instead of creating one ('net' then left out of namespaces). */
  netnsPath?: string;
  /** berth's default seccomp filter (native/core/seccomp.h); docker's --security-opt seccomp=unconfined turns it off. */
  seccomp?: boolean;
  /** berth-oci create (through berth-nsenter, joinPid unset): the init stops before execve, opening
   *  this fifo for writing, until `start` opens it for reading. */
  execFifoPath?: string;
  /** process.terminal under berth-oci: the pty master is sent to this unix socket. */
  consoleSocket?: string;
  /** Remount / read-only after pivot_root (root.readonly). */
  rootfsReadonly?: boolean;
  /** MS_SHARED/MS_SLAVE/MS_PRIVATE (| MS_REC) applied to / after pivot_root; 0 leaves it private. */
  rootfsPropagation?: number;
  /** MS_MOVE + chroot instead of pivot_root. */
  noPivot?: boolean;
  /** The command's umask (default 0o022). */
  umask?: number;
  /** [RLIMIT_* number, soft, hard]; -1 is unlimited. */
  rlimits?: Array<[number, number, number]>;
  oomScoreAdj?: number;
  domainname?: string;
  /** Namespaces joined by path before clone: user, pid, net, ipc, uts, cgroup (berth-nsenter only),
   *  in this order: user first, so that the others are joined with its privileges. */
  joinNamespaces?: Array<[string, string]>;
  /** A compiled seccomp program (struct sock_filter[]) replacing berth's default filter. */
  seccompFilter?: Buffer;
  /** OCI: the capability sets hold for a non-root user too (kept across setuid). */
  capsForAnyUser?: boolean;
  capsInheritable?: [number, number];
  capsAmbient?: number[];
  /** With a new user namespace: the text written to the child's /proc/PID/uid_map and gid_map
   *  ("inside outside count" lines). */
  uidMap?: string;
  gidMap?: string;
  /** runc's --preserve-fds (berth-nsenter only): the caller's fds 3..3+N-1 become the command's. */
  preserveFds?: number;
  /** OCI createContainer hooks (berth-oci's create): run by the init before pivot_root, each with
   *  hookState[0] + the init's pid + hookState[1] (the state JSON) on stdin. */
  createContainerHooks?: NativeHook[];
  hookState?: [string, string];
}

export interface NativeHook {
  path: string;
  args: string[];
  env: string[];
  /** Seconds; 0 waits for ever. */
  timeout: number;
}

export interface NativeSpawned {
  pid: number;
  pidfd: number;
  /** Master side of the container's pty, when plan.tty. */
  ptyMaster: number;
}

export interface NativeExit {
  /** Exit code when the process exited, else -1. */
  code: number;
  /** Signal number when it was killed by a signal, else 0. */
  signal: number;
}

export interface NativeAddon {
  /** A plan encoded by encodePlan (use spawnContainer). */
  spawn(plan: Buffer): NativeSpawned;
  /** Calls back once, from the event loop, when the process behind pidfd has exited (and reaps it). */
  watchExit(pidfd: number, cb: (exit: NativeExit) => void): void;
  /** Stop watching: the callback will not run and the loop is no longer kept alive by it. */
  unwatchExit(pidfd: number): void;
  pidfdSignal(pidfd: number, signal: number): void;
  /** A pipe with both ends close-on-exec: [read, write]. */
  pipe(): [number, number];
  setWinsize(fd: number, rows: number, cols: number): void;
  /** flock(2): op 'sh' | 'ex', wait or fail with EWOULDBLOCK. */
  flock(fd: number, exclusive: boolean, wait: boolean): void;
  /** Starts argv[0] (an absolute path) in its own session, stdio on /dev/null, without waiting. */
  spawnDetached(argv: string[]): number;
  /** A close-on-exec memfd holding a write-sealed copy of the executable at path (one per process
   *  and file): run it as `/proc/self/fd/N` so /proc/PID/exe is never a host binary a container
   *  could write (CVE-2019-5736). */
  sealedExecutable(path: string): number;
  /** Deletes a directory tree on a worker thread; never follows symlinks or crosses mounts. */
  removeTree(path: string): Promise<void>;
  /** An extended attribute of path itself (lgetxattr; at most 256 bytes), undefined when absent. */
  getXattr(path: string, name: string): string | undefined;
  /** Every extended attribute of path itself (llistxattr + lgetxattr, a symlink is not followed). */
  listXattrs(path: string): Array<[name: string, value: Buffer]>;
  /** lsetxattr(2): set one extended attribute on path itself, never on a symlink's target. */
  setXattr(path: string, name: string, value: Buffer): void;
  /** A new network namespace (loopback up) pinned by a bind mount at path, which must not exist. */
  createNetns(path: string): void;
  /** Unpins and deletes a namespace createNetns made; nothing when path is missing. */
  removeNetns(path: string): void;
  /** rtnetlink (native/core/netlink.h): the bridge made if missing, its address added, set up. */
  nlEnsureBridge(spec: { name: string; address?: string; prefix?: number; mtu?: number }): void;
  /** A veth pair: hostName on bridge (hairpin, up), its peer made as ifname in the namespace at
   *  netns with mac/mtu, address/prefix, up, default route via gateway. Undone on failure. */
  nlAttachVeth(spec: {
    bridge: string;
    hostName: string;
    netns: string;
    ifname: string;
    mac?: string;
    mtu?: number;
    address: string;
    prefix: number;
    gateway?: string;
    hairpin?: boolean;
  }): void;
  /** Deletes a link of the host's namespace by name (a veth with its peer); false if none. */
  nlDeleteLink(name: string): boolean;
}

/** Creates the container process described by the plan; returns once it has exec'd. */
export function spawnContainer(plan: NativeSpawnPlan): NativeSpawned {
  return native().spawn(encodePlan(plan));
}

let loaded: NativeAddon | undefined;

export function native(): NativeAddon {
  if (!loaded) {
    const file = path.join(__dirname, '..', '..', 'build', 'Release', 'berth.node');
    loaded = require(file) as NativeAddon;
  }
  return loaded;
}
