/**
 * The one translation: an OCI runtime-spec config to the native spawn plan. berth-oci's bundles
 * come through here; the plan is plain data the addon and berth-nsenter execute without deciding
 * anything. Every field berth cannot honour is an error naming it, never silently dropped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { MS, S_IFBLK, S_IFCHR, makedev } from '../native/constants';
import type { NativeMountOp, NativeSpawnPlan } from '../native';
import type { CgroupPlan } from '../runtime/cgroups';
import { quote } from '../util/quote';
import { parseMountOptions } from './mount-options';
import { capabilitiesOf, execCandidates, preservedFds, rlimitsOf } from './process-plan';
import { ANNOTATION } from './annotations';
import { createContainerHookPlan } from './hooks';
import { namespaces, type NamespacePlan } from './namespaces';
import type { Mount, Spec } from './spec';
import { userNamespacePlan } from './user-namespace';

/** What a `berth run` start knows beyond its config (see OciPlanContext.berth). */
export interface BerthStart {
  parentDeathSignal: number;
  initPath: string;
  ttySize: [number, number];
  /** Bind destinations whose source is a file (berth made them): nothing is probed on disk. */
  fileBinds: ReadonlySet<string>;
}

export interface OciPlanContext {
  /** The bundle: root.path and relative bind sources are relative to it. */
  bundle: string;
  cgroup: CgroupPlan;
  /** The container's own cgroup directory in each v1 hierarchy (for a `cgroup` mount). */
  cgroupDirs: string[];
  helperPath: string;
  execFifoPath?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  /** The compiled linux.seccomp program, if the config has one. */
  seccompFilter?: Buffer;
  stdio?: [number, number, number];
  /** runc's --preserve-fds: the caller's fds 3..3+N-1 become the container process's. */
  preserveFds?: number;
  /** The state JSON createContainer hooks read, around the init's pid (hooks.ts hookStateTemplate). */
  hookState?: [string, string];
  /** `berth run`'s starts: the addon spawns from Node itself (no berth-nsenter), so a network
   *  namespace path is joined by the child (netnsPath) and nothing else may be joined; the child
   *  dies with the thread that spawned it; berth-init and berth's built-in filter are annotations. */
  berth?: BerthStart;
}

const fail = (field: string, why: string): never => {
  throw new BerthError('INVALID_ARGUMENT', `config.json ${field}: ${why}`);
};

function op(o: Partial<NativeMountOp> & Pick<NativeMountOp, 'kind' | 'target'>): NativeMountOp {
  return { source: '', fstype: '', flags: 0, data: '', create: 0, sourceInRoot: false, optional: false, mode: 0, rdev: 0, ...o };
}

const rel = (p: string) => path.posix.normalize(p).replace(/^\/+/, '').replace(/\/+$/, '');

// The /proc files a config may mount over (lxcfs's), as runc allows them.
const PROC_FILES = new Set([
  'proc/cpuinfo',
  'proc/diskstats',
  'proc/meminfo',
  'proc/stat',
  'proc/swaps',
  'proc/uptime',
  'proc/loadavg',
  'proc/slabinfo',
]);

const DEFAULT_DEVICES: Array<[string, number, number]> = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
];
const DEV_LINKS: Array<[string, string]> = [
  ['ptmx', 'pts/ptmx'],
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
];

/** v2: cgroup2 itself, which the container's cgroup namespace roots at its own cgroup; v1: a tmpfs
 *  with the container's own cgroup of each hierarchy bound in (as runc mounts it). */
function cgroupMount(target: string, flags: number, ctx: OciPlanContext): NativeMountOp[] {
  if (isUnified()) return [op({ kind: 'mount', target, source: 'cgroup2', fstype: 'cgroup2', flags, create: 1 })];
  const ro = flags & MS.RDONLY;
  const safety = flags & (MS.NOSUID | MS.NODEV | MS.NOEXEC);
  const ops = [op({ kind: 'mount', target, source: 'tmpfs', fstype: 'tmpfs', flags: flags & ~MS.RDONLY, data: 'mode=755', create: 1 })];
  for (const dir of ctx.cgroupDirs) {
    const hierarchy = path.relative('/sys/fs/cgroup', dir).split('/')[0];
    // private: with a linux.rootfsPropagation the host's hierarchy may be shared, and the bind
    // would be its peer (a mount on it inside would reach the host's cgroupfs)
    ops.push(
      op({
        kind: 'mount',
        target: `${target}/${hierarchy}`,
        source: dir,
        flags: MS.BIND | MS.REC | ro | safety,
        create: 1,
        propagation: MS.PRIVATE | MS.REC,
      }),
    );
  }
  if (ro) ops.push(op({ kind: 'mount', target, flags: MS.REMOUNT | MS.RDONLY | safety }));
  return ops;
}

/** What a bind's missing target is made as: a directory for a directory, else an empty file. */
function bindCreates(source: string, destination: string, field: string, ctx: OciPlanContext): 1 | 2 {
  if (ctx.berth) return ctx.berth.fileBinds.has(destination) ? 2 : 1;
  const st = fs.statSync(source, { throwIfNoEntry: false });
  if (!st) fail(`${field}.source`, `${quote(source)} does not exist`);
  return st!.isDirectory() ? 1 : 2;
}

// Whether a masked path is a directory (a tmpfs over it) or a file (/dev/null over it): decided on
// the host, whose procfs and sysfs are the kernel's the container sees, once per process and path
// rather than on every start.
const maskKinds = new Map<string, boolean>();
function maskedIsDir(p: string): boolean {
  let isDir = maskKinds.get(p);
  if (isDir === undefined) maskKinds.set(p, (isDir = fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false));
  return isDir;
}

let kcore: boolean | undefined;
const hostHasKcore = () => (kcore ??= fs.existsSync('/proc/kcore'));

let unified: boolean | undefined;
function isUnified(): boolean {
  unified ??= fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
  return unified;
}

const UNION_FILESYSTEMS = new Set(['overlay', 'aufs']);

/** A union filesystem mounted on / (berth's image layers): the child mounts it as the rootfs, in
 *  the container's own mount namespace, so that no crash can leave it mounted on the host. */
function unionRoot(spec: Spec): Mount | undefined {
  const m = spec.mounts?.[0];
  return m && rel(m.destination ?? '') === '' && UNION_FILESYSTEMS.has(m.type ?? '') ? m : undefined;
}

/** A device node of the host bound over an empty file: a user namespace's root may not mknod (as
 *  runc does it there). */
const deviceBind = (target: string, hostPath: string) => op({ kind: 'mount', target, source: hostPath, flags: MS.BIND, create: 2 });

function mountOps(spec: Spec, ctx: OciPlanContext, ns: NamespacePlan): NativeMountOp[] {
  const ops: NativeMountOp[] = [];
  const userns = ns.user.kind !== 'none';
  let devIsTmpfs = false;
  (spec.mounts ?? []).forEach((m, i) => {
    const field = `mounts[${i}]`;
    if (typeof m.destination !== 'string' || !path.posix.isAbsolute(m.destination))
      fail(`${field}.destination`, `expected an absolute path but received ${quote(m.destination)}`);
    const target = rel(m.destination);
    if (target === '' && i === 0 && unionRoot(spec)) return;
    if (target === '') fail(`${field}.destination`, 'a mount on / is the root itself; use root.path (or an overlay as the first mount)');
    // Asked for in /proc or /sys by the config itself (not reached through an image's symlink,
    // which the native side refuses): /sys/fs/cgroup, lxcfs's /proc files; other /proc targets
    // are refused as runc refuses them.
    const intoKernelFs = target.startsWith('sys/') || PROC_FILES.has(target);
    if (target.startsWith('proc/') && !PROC_FILES.has(target))
      fail(`${field}.destination`, `${quote(m.destination)} cannot be inside /proc`);
    const o = parseMountOptions(m.options ?? [], field);
    const type = m.type ?? (o.bind ? 'bind' : '');
    if (type === 'bind' || o.bind) {
      if (!m.source) fail(`${field}.source`, 'a bind mount needs a source');
      const source = path.resolve(ctx.bundle, m.source!);
      const flags = MS.BIND | (o.recursive ? MS.REC : 0) | o.flags;
      ops.push(
        op({
          kind: 'mount',
          target,
          source,
          flags,
          propagation: o.propagation,
          create: bindCreates(source, m.destination, field, ctx),
          intoKernelFs,
        }),
      );
      return;
    }
    if (type === 'cgroup') {
      ops.push(...cgroupMount(target, o.flags, ctx).map((c) => ({ ...c, intoKernelFs })));
      return;
    }
    if (!type) fail(`${field}.type`, 'a mount needs a type (or the bind option)');
    // sysfs may be mounted only by the user namespace that owns the network namespace: without a
    // new one of those, the host's /sys is bound instead (runc's rootless way)
    if (type === 'sysfs' && userns && !ns.create.includes('net')) {
      ops.push(op({ kind: 'mount', target, source: '/sys', flags: MS.BIND | MS.REC | o.flags, create: 1, intoKernelFs }));
      return;
    }
    if (target === 'dev' && type === 'tmpfs') devIsTmpfs = true;
    ops.push(
      op({
        kind: 'mount',
        target,
        source: m.source ?? type,
        fstype: type,
        flags: o.flags,
        data: o.data.join(','),
        propagation: o.propagation,
        create: 1,
        intoKernelFs,
      }),
    );
  });
  // As runc: a /dev of our own gets the standard devices and links.
  if (devIsTmpfs) {
    for (const [name, major, minor] of DEFAULT_DEVICES)
      ops.push(
        userns
          ? deviceBind(`dev/${name}`, `/dev/${name}`)
          : op({ kind: 'mknod', target: `dev/${name}`, mode: S_IFCHR | 0o666, rdev: makedev(major, minor) }),
      );
    for (const [name, target] of DEV_LINKS) ops.push(op({ kind: 'symlink', target: `dev/${name}`, source: target }));
    if (hostHasKcore()) ops.push(op({ kind: 'symlink', target: 'dev/core', source: '/proc/kcore' }));
  }
  (spec.linux?.devices ?? []).forEach((d, i) => {
    const field = `linux.devices[${i}]`;
    if (!path.posix.isAbsolute(d.path ?? '')) fail(`${field}.path`, `expected an absolute path but received ${quote(d.path)}`);
    const kind =
      d.type === 'b'
        ? S_IFBLK
        : d.type === 'c' || d.type === 'u'
          ? S_IFCHR
          : d.type === 'p'
            ? 0o010000
            : fail(`${field}.type`, `expected c, b, u or p but received ${quote(d.type)}`);
    ops.push(
      userns
        ? deviceBind(rel(d.path), path.posix.normalize(d.path))
        : op({
            kind: 'mknod',
            target: rel(d.path),
            mode: kind | ((d.fileMode ?? 0o666) & 0o7777),
            rdev: makedev(d.major ?? 0, d.minor ?? 0),
          }),
    );
  });
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) {
    if (!/^[a-z0-9_.-]+$/i.test(key) || key.includes('..')) fail('linux.sysctl', `bad key ${quote(key)}`);
    ops.push(op({ kind: 'write', target: `proc/sys/${key.replace(/\./g, '/')}`, data: String(value), intoKernelFs: true }));
  }
  for (const p of spec.linux?.maskedPaths ?? []) {
    const isDir = maskedIsDir(p);
    ops.push(
      isDir
        ? op({
            kind: 'mount',
            target: rel(p),
            source: 'tmpfs',
            fstype: 'tmpfs',
            flags: MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC,
            data: 'size=0',
            optional: true,
            intoKernelFs: true,
          })
        : op({ kind: 'mount', target: rel(p), source: '/dev/null', flags: MS.BIND, optional: true, intoKernelFs: true }),
    );
  }
  for (const p of spec.linux?.readonlyPaths ?? []) {
    ops.push(
      op({
        kind: 'mount',
        target: rel(p),
        source: rel(p),
        sourceInRoot: true,
        flags: MS.BIND | MS.REC | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC,
        optional: true,
        intoKernelFs: true,
      }),
    );
  }
  if (spec.process?.cwd) ops.push(op({ kind: 'mkdir', target: rel(spec.process.cwd) }));
  return ops;
}

const ROOT_PROPAGATION: Record<string, number> = {
  '': 0,
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

function unionMount(m: Mount): NativeSpawnPlan['rootfsMount'] {
  const o = parseMountOptions(m.options ?? [], 'mounts[0]');
  return { source: m.source ?? m.type!, fstype: m.type!, flags: o.flags, data: o.data.join(',') };
}

export function specToPlan(spec: Spec, ctx: OciPlanContext): NativeSpawnPlan {
  const p = spec.process;
  if (!p) return fail('process', 'is required to start a container');
  if (!Array.isArray(p.args) || p.args.length === 0 || p.args.some((a) => typeof a !== 'string'))
    fail('process.args', 'expected a non-empty array of strings');
  if (typeof p.cwd !== 'string' || !path.posix.isAbsolute(p.cwd))
    fail('process.cwd', `expected an absolute path but received ${quote(p.cwd)}`);
  if (!p.user || !Number.isInteger(p.user.uid) || !Number.isInteger(p.user.gid)) fail('process.user', 'expected {uid, gid} as integers');
  if (!spec.root?.path) fail('root.path', 'is required');
  if (spec.linux?.personality && spec.linux.personality.domain !== 'LINUX')
    fail('linux.personality', `domain ${quote(spec.linux.personality.domain)} is not supported`);
  const rootfs = path.resolve(ctx.bundle, spec.root!.path);
  if (!ctx.berth && !fs.statSync(rootfs, { throwIfNoEntry: false })?.isDirectory())
    fail('root.path', `${quote(rootfs)} is not a directory`);
  const berth = ctx.berth;
  const ns = namespaces(spec.linux?.namespaces ?? [], !!berth);
  const userns = userNamespacePlan(spec.linux, ns.user, p.user);
  const preserveFds = preservedFds(ctx.preserveFds);
  const hooks = createContainerHookPlan(spec.hooks);
  if (hooks.length > 0 && (berth || !ctx.hookState)) fail('hooks.createContainer', 'only berth-oci runs them');
  const union = unionRoot(spec);
  const init = berth && spec.annotations?.[ANNOTATION.init] === 'true';
  const env = p.env ?? [];
  const caps = capabilitiesOf(p);
  const propagation = ROOT_PROPAGATION[spec.linux?.rootfsPropagation ?? ''];
  if (propagation === undefined)
    fail(
      'linux.rootfsPropagation',
      `expected one of ${Object.keys(ROOT_PROPAGATION).filter(Boolean).join(', ')} but received ${quote(spec.linux?.rootfsPropagation)}`,
    );
  const rlimits = rlimitsOf(p);
  return {
    namespaces: ns.create,
    ...(ns.join.length ? { joinNamespaces: ns.join } : {}),
    rootfs,
    ...(ns.netnsPath ? { netnsPath: ns.netnsPath } : {}),
    rootfsMount: union ? unionMount(union) : { source: rootfs, fstype: '', flags: MS.BIND | MS.REC, data: '' },
    rootfsReadonly: !!spec.root!.readonly,
    rootfsPropagation: propagation,
    noPivot: !!ctx.noPivot,
    mounts: mountOps(spec, ctx, ns),
    hostname: spec.hostname ?? '',
    domainname: spec.domainname ?? '',
    cgroupDirs: ctx.cgroup.dirs,
    cgroupWrites: ctx.cgroup.writes,
    cgroupProcs: ctx.cgroup.procs,
    loopbackUp: ns.create.includes('net'),
    // berth-init runs from a sealed copy (initPath) and finds the command on the container's PATH
    execCandidates: init ? [] : execCandidates(p.args[0], env),
    argv: init ? ['berth-init', '--', ...p.args] : p.args,
    ...(init ? { initPath: berth.initPath, blockSignals: true } : {}),
    env,
    cwd: p.cwd,
    uid: p.user.uid,
    gid: p.user.gid,
    groups: p.user.additionalGids ?? [],
    umask: p.user.umask ?? 0o022,
    capsDrop: caps.drop,
    capsKeep: caps.mask,
    // docker gives a non-root user no capabilities; an OCI config's sets hold for any user
    capsForAnyUser: !berth,
    capsInheritable: caps.inheritable,
    capsAmbient: caps.ambient,
    noNewPrivileges: !!p.noNewPrivileges,
    rlimits,
    ...(p.oomScoreAdj !== undefined ? { oomScoreAdj: p.oomScoreAdj } : {}),
    stdio: ctx.stdio ?? [0, 1, 2],
    tty: !!p.terminal,
    ttySize: berth?.ttySize ?? [p.consoleSize?.height ?? 24, p.consoleSize?.width ?? 80],
    parentDeathSignal: berth?.parentDeathSignal ?? 0,
    ...(ctx.helperPath ? { helperPath: ctx.helperPath } : {}),
    ...(ctx.execFifoPath ? { execFifoPath: ctx.execFifoPath } : {}),
    ...(ctx.consoleSocket ? { consoleSocket: ctx.consoleSocket } : {}),
    seccomp: !!berth && spec.annotations?.[ANNOTATION.seccomp] === 'default',
    ...(ctx.seccompFilter ? { seccompFilter: ctx.seccompFilter } : {}),
    ...userns,
    ...(preserveFds ? { preserveFds } : {}),
    ...(hooks.length > 0 ? { createContainerHooks: hooks, hookState: ctx.hookState } : {}),
  };
}
