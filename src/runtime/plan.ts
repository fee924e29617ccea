import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { quote } from '../util/quote';
import { CAPS, DEFAULT_CAPS, MS, S_IFCHR, makedev } from '../native/constants';
import type { NativeMountOp, NativeSpawnPlan } from '../native';
import type { CgroupPlan } from './cgroups';
import { rootfsMount, type RootfsLayout } from './rootfs';
import { ensureInitLayer } from './init-layer';
import { hostDevices } from './host-devices';
import { INIT_PATH, NSENTER_PATH } from './shim';
import type { ContainerConfig } from './types';
import { onHostNetwork } from './container-predicates';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Paths docker hides from containers: kernel state that leaks host details or allows attacks. */
const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const DEVICES: Array<[string, number, number]> = [
  ['null', 1, 3], ['zero', 1, 5], ['full', 1, 7], ['random', 1, 8], ['urandom', 1, 9], ['tty', 5, 0],
];
const DEV_LINKS: Array<[string, string]> = [
  ['ptmx', 'pts/ptmx'], ['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'], ['core', '/proc/kcore'],
];

function op(o: Partial<NativeMountOp> & Pick<NativeMountOp, 'kind' | 'target'>): NativeMountOp {
  return { source: '', fstype: '', flags: 0, data: '', create: 0, sourceInRoot: false, optional: false, mode: 0, rdev: 0, ...o };
}

const rel = (p: string) => p.replace(/^\/+/, '');

let maskKinds: Map<string, boolean> | undefined;
/** Whether each masked path is a directory: decided on the host, whose procfs and sysfs are the
 *  same kernel's the container will see. */
function maskedIsDir(): Map<string, boolean> {
  if (!maskKinds) {
    maskKinds = new Map();
    for (const p of MASKED_PATHS) {
      // absent on this kernel: nothing to mask
      const st = fs.statSync(p, { throwIfNoEntry: false });
      if (st) maskKinds.set(p, st.isDirectory());
    }
  }
  return maskKinds;
}

/** The mounts docker gives every container, then the volumes, masks and read-only paths. */
export function containerMounts(config: ContainerConfig, containerDir: string): NativeMountOp[] {
  const ops: NativeMountOp[] = [
    op({ kind: 'mount', target: 'proc', source: 'proc', fstype: 'proc', flags: MS.NOSUID | MS.NOEXEC | MS.NODEV, create: 1 }),
    op({ kind: 'mount', target: 'dev', source: 'tmpfs', fstype: 'tmpfs', flags: MS.NOSUID | MS.STRICTATIME, data: 'mode=755,size=65536k', create: 1 }),
    op({ kind: 'mount', target: 'dev/pts', source: 'devpts', fstype: 'devpts', flags: MS.NOSUID | MS.NOEXEC, data: 'newinstance,ptmxmode=0666,mode=0620,gid=5', create: 1 }),
    op({ kind: 'mount', target: 'dev/shm', source: 'shm', fstype: 'tmpfs', flags: MS.NOSUID | MS.NOEXEC | MS.NODEV, data: 'mode=1777,size=65536k', create: 1 }),
    op({ kind: 'mount', target: 'dev/mqueue', source: 'mqueue', fstype: 'mqueue', flags: MS.NOSUID | MS.NOEXEC | MS.NODEV, create: 1 }),
    op({ kind: 'mount', target: 'sys', source: 'sysfs', fstype: 'sysfs', flags: MS.NOSUID | MS.NOEXEC | MS.NODEV | (config.privileged ? 0 : MS.RDONLY), create: 1 }),
  ];
  for (const [name, major, minor] of DEVICES) {
    ops.push(op({ kind: 'mknod', target: `dev/${name}`, mode: S_IFCHR | 0o666, rdev: makedev(major, minor) }));
  }
  if (config.privileged) ops.push(...hostDevices().map((d) => op({ kind: 'mknod', target: d.target, mode: d.mode, rdev: d.rdev })));
  for (const [name, target] of DEV_LINKS) ops.push(op({ kind: 'symlink', target: `dev/${name}`, source: target }));
  for (const file of ['hostname', 'hosts', 'resolv.conf']) {
    ops.push(op({ kind: 'mount', target: `etc/${file}`, source: path.join(containerDir, file), flags: MS.BIND, create: 2 }));
  }
  for (const v of config.volumes) {
    const flags = MS.BIND | MS.REC | (v.readonly ? MS.RDONLY : 0);
    ops.push(op({ kind: 'mount', target: rel(v.containerPath), source: v.hostPath, flags, create: 1 }));
  }
  // --privileged: the kernel's files as the host has them, as docker does
  const masked = config.privileged ? [] : [...maskedIsDir()];
  for (const [p, isDir] of masked) {
    ops.push(
      isDir
        ? op({ kind: 'mount', target: rel(p), source: 'tmpfs', fstype: 'tmpfs', flags: MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, data: 'size=0', optional: true, intoKernelFs: true })
        : op({ kind: 'mount', target: rel(p), source: '/dev/null', flags: MS.BIND, optional: true, intoKernelFs: true }),
    );
  }
  for (const p of config.privileged ? [] : READONLY_PATHS) {
    ops.push(op({ kind: 'mount', target: rel(p), source: rel(p), sourceInRoot: true, flags: MS.BIND | MS.REC | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, optional: true, intoKernelFs: true }));
  }
  ops.push(op({ kind: 'mkdir', target: rel(config.workdir) }));
  return ops;
}

/** Where execve looks for argv[0]: as given when it has a slash, else each $PATH entry in turn. */
export function execCandidates(cmd: string, env: string[]): string[] {
  if (cmd.includes('/')) return [cmd];
  const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  const dirs = pathVar.split(':').map((d) => d || '.');
  return dirs.map((d) => path.posix.join(d, cmd));
}

let lastCap: number | undefined;
function capLastCap(): number {
  if (lastCap === undefined) {
    try {
      lastCap = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    } catch {
      lastCap = 40;
    }
  }
  return lastCap;
}

export function capabilityPlan(keep: readonly string[] = DEFAULT_CAPS): { drop: number[]; mask: [number, number] } {
  const keepNums = new Set(
    keep.map((c) => {
      if (CAPS[c] === undefined) throw new BerthError('INVALID_ARGUMENT', `Unknown capability ${quote(c)}; expected a name like CAP_NET_ADMIN`);
      return CAPS[c];
    }),
  );
  const drop: number[] = [];
  for (let c = 0; c <= capLastCap(); c++) if (!keepNums.has(c)) drop.push(c);
  const mask: [number, number] = [0, 0];
  for (const c of keepNums) mask[c >> 5] = (mask[c >> 5] | (1 << (c & 31))) >>> 0;
  return { drop, mask };
}

export interface StdioPlan {
  fds: [number, number, number];
  tty: boolean;
  ttySize: [number, number];
}

export function layoutOf(config: ContainerConfig, containerDir: string): RootfsLayout {
  const init = ensureInitLayer(config.layers);
  // a deep image near mount(2)'s one page of options goes without (its targets land in upper)
  const withInit = init !== undefined && config.layers.reduce((n, l) => n + l.length + 1, init.length) < 3700;
  return {
    lowers: withInit ? [init, ...config.layers] : config.layers,
    upper: path.join(containerDir, 'upper'),
    work: path.join(containerDir, 'work'),
    merged: path.join(containerDir, 'merged'),
  };
}

/** Everything the addon needs for one start, fully decided here. `netnsPath`: the pinned network
 *  namespace (with its loopback up) of a container on CNI networks, joined instead of a new one. */
export function spawnPlan(config: ContainerConfig, containerDir: string, cgroup: CgroupPlan, stdio: StdioPlan, netnsPath?: string): NativeSpawnPlan {
  const layout = layoutOf(config, containerDir);
  const caps = capabilityPlan(config.capabilities);
  // --network host: the host's network namespace, whose loopback is the host's business
  const hostNet = onHostNetwork(config);
  const ownNet = !hostNet && !netnsPath;
  return {
    namespaces: ownNet ? ['pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup'] : ['pid', 'mnt', 'uts', 'ipc', 'cgroup'],
    ...(netnsPath ? { netnsPath } : {}),
    rootfs: layout.merged,
    rootfsMount: rootfsMount(config.storageDriver, layout),
    mounts: containerMounts(config, containerDir),
    hostname: config.hostname,
    cgroupDirs: cgroup.dirs,
    cgroupWrites: cgroup.writes,
    cgroupProcs: cgroup.procs,
    loopbackUp: ownNet,
    // berth-init runs from a sealed copy (initPath) and finds the command on the container's PATH
    execCandidates: config.init ? [] : execCandidates(config.argv[0], config.env),
    argv: config.init ? ['berth-init', '--', ...config.argv] : config.argv,
    ...(config.init ? { initPath: INIT_PATH } : {}),
    env: config.env,
    cwd: config.workdir,
    uid: config.uid,
    gid: config.gid,
    groups: config.groups,
    capsDrop: caps.drop,
    capsKeep: caps.mask,
    noNewPrivileges: !!config.noNewPrivileges,
    stdio: stdio.fds,
    tty: stdio.tty,
    ttySize: stdio.ttySize,
    parentDeathSignal: 9,
    blockSignals: !!config.init,
    seccomp: config.seccomp !== false && !config.privileged,
  };
}

/** What `exec` runs inside a running container: its user, environment and directory unless
 *  overridden; seccomp and no_new_privs the container's, so that exec'd processes are confined as
 *  its own are. */
export type ExecSpec = Pick<NativeSpawnPlan, 'argv' | 'env' | 'cwd' | 'uid' | 'gid' | 'groups' | 'noNewPrivileges'> & { seccomp: boolean; capabilities?: string[] };

/** Plan for a process that joins a running container (pid) instead of creating one. */
export function execPlan(pid: number, spec: ExecSpec, joinFiles: string[], stdio: StdioPlan): NativeSpawnPlan {
  const caps = capabilityPlan(spec.capabilities);
  return {
    namespaces: ['pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup'],
    rootfs: '',
    rootfsMount: { source: '', fstype: '', flags: 0, data: '' },
    mounts: [],
    hostname: '',
    cgroupDirs: [],
    cgroupWrites: [],
    cgroupProcs: joinFiles,
    loopbackUp: false,
    execCandidates: execCandidates(spec.argv[0], spec.env),
    argv: spec.argv,
    env: spec.env,
    cwd: spec.cwd,
    uid: spec.uid,
    gid: spec.gid,
    groups: spec.groups,
    capsDrop: caps.drop,
    capsKeep: caps.mask,
    noNewPrivileges: spec.noNewPrivileges,
    stdio: stdio.fds,
    tty: stdio.tty,
    ttySize: stdio.ttySize,
    parentDeathSignal: 0,
    joinPid: pid,
    helperPath: NSENTER_PATH,
    seccomp: spec.seccomp,
  };
}
