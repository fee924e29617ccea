import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError, invalid } from '../errors';
import { quote } from '../util/quote';
import type { NetworkOptionsInput } from '../network/options';
import type { NamespaceOptionsInput } from './namespace-options';
import type { LogOptions, RestartPolicy } from './shim';
import { parseBytes, parseCpuShares, parseCpus, parseCpuset, parseMemory, parseMemorySwap, parsePidsLimit } from './limits';
import { DEFAULT_PATH } from './plan';
import type { CgroupLimits } from './cgroups';
import { parseResourceFlags, type ResourceFlagOptions } from './resource-options';
import type { VolumeSpec } from './types';
import type { StopFlagOptions } from './stop-options';
import type { RunMiscOptions } from './run-misc-options';
import type { HealthOptions } from './health/options';
import { checkVolumeName } from '../volume/names';
import { checkVolumeModes, PROPAGATIONS } from './volume-modes';

/** Options of one container, as the API and the CLI take them. */
/** What `run`, `runDetached` and `spawn` take; the network options are NetworkOptionsInput's. */
export interface ContainerOptions
  extends NetworkOptionsInput, ResourceFlagOptions, StopFlagOptions, RunMiscOptions, NamespaceOptionsInput, HealthOptions {
  image: string;
  /** Command and arguments; defaults to the image's Cmd. */
  cmd?: string[];
  /** Replaces the image's Entrypoint (and drops its Cmd); "" for none. */
  entrypoint?: string | string[];
  /** When to pull the image from its registry: missing (default), always, never. Not for spawn(),
   *  which is synchronous and needs the image present. */
  pull?: 'missing' | 'always' | 'never';
  name?: string;
  /** KEY=VALUE entries, or KEY alone to copy the value from this process's environment. */
  env?: string[] | Record<string, string>;
  workdir?: string;
  hostname?: string;
  /** uid[:gid] or user[:group], resolved against the image's /etc/passwd and /etc/group. */
  user?: string;
  /** HOST:CONTAINER[:ro|rw], or objects. */
  volumes?: Array<string | VolumeSpec>;
  memory?: string | number;
  memorySwap?: string | number;
  cpus?: string | number;
  cpuShares?: string | number;
  cpusetCpus?: string;
  pidsLimit?: string | number;
  tty?: boolean;
  interactive?: boolean;
  /** Remove the container when it exits (docker's --rm). */
  rm?: boolean;
  storageDriver?: string;
  /** Run a minimal init as PID 1 that reaps zombies and forwards signals. */
  init?: boolean;
  /** Detached containers: no, always, unless-stopped, on-failure[:N]. */
  restart?: string;
  /** Detached containers: docker's --log-opt, e.g. ['max-size=10m', 'max-file=3']. */
  logOpts?: string[];
  /** docker's --log-driver: json-file (default) or none. */
  logDriver?: string;
  /** docker's --security-opt: 'seccomp=unconfined' (no seccomp filter; default: berth's),
   *  'seccomp=FILE' (a docker seccomp profile), 'no-new-privileges[=true|false]' (setuid binaries
   *  and file capabilities grant nothing), 'systempaths=unconfined', 'apparmor=P' and 'label=L'
   *  (accepted where the host has no such LSM). */
  securityOpt?: string[];
  /** docker's --cap-add / --cap-drop: names with or without CAP_, or ALL. */
  capAdd?: string[];
  capDrop?: string[];
  /** docker's --privileged: every capability and device, no seccomp, no masked paths, writable /sys. */
  privileged?: boolean;
  /** docker's --device: HOST[:CONTAINER][:PERMS] (PERMS from r, w, m; default rwm). */
  devices?: string[];
  /** docker's --device-cgroup-rule: "c 1:3 rwm", "b 7:* r", "a" (allowed after docker's defaults). */
  deviceCgroupRules?: string[];
  /** docker's --read-only: the image's filesystem (and the write layer) mounted read-only. */
  readOnly?: boolean;
  /** docker's --tmpfs: PATH[:OPTIONS], over docker's noexec,nosuid,nodev. */
  tmpfs?: string[];
  /** docker's --mount: type=bind|volume|tmpfs,source=...,target=...[,readonly,...] (src/runtime/mount-flag.ts). */
  mounts?: string[];
  /** docker's --volumes-from: CONTAINER[:ro|rw], the binds and volumes of another container. */
  volumesFrom?: string[];
  /** docker's --storage-opt: size=SIZE, only where the storage can enforce it. */
  storageOpt?: string[];
  /** docker's --shm-size: the size of /dev/shm (default 64m). */
  shmSize?: string | number;
  /** docker's --ulimit: NAME=SOFT[:HARD], -1 for unlimited. */
  ulimits?: string[];
  /** docker's --sysctl: KEY=VALUE of the container's own namespaces (kernel.shm*, net.*, ...). */
  sysctls?: string[] | Record<string, string>;
  /** docker's --oom-score-adj: -1000 to 1000. */
  oomScoreAdj?: string | number;
  /** docker's --group-add: more groups of the process, by gid or by name in the image's /etc/group. */
  groupAdd?: string[];
  /** docker's --domainname: the NIS domain name of the container. */
  domainname?: string;
  /** docker's --cgroup-parent: a cgroupfs path the container's cgroup goes below. */
  cgroupParent?: string;
  /** docker's -l/--label: KEY=VALUE (or KEY for ""), over the image's labels. */
  labels?: string[] | Record<string, string>;
}

/** Options of `exec`: what differs from the container's own process. */
export interface ExecOptions {
  cmd: string[];
  env?: string[] | Record<string, string>;
  workdir?: string;
  user?: string;
  tty?: boolean;
  interactive?: boolean;
}

const asString = (v: string | number) => String(v);

export function parseLimits(o: ContainerOptions): CgroupLimits {
  const limits: CgroupLimits = {};
  if (o.memory !== undefined) limits.memory = typeof o.memory === 'number' ? checkBytes(o.memory) : parseMemory(o.memory);
  if (o.memorySwap !== undefined) limits.memorySwap = parseMemorySwap(asString(o.memorySwap), limits.memory);
  if (o.cpus !== undefined) limits.cpus = parseCpus(asString(o.cpus));
  if (o.cpuShares !== undefined) limits.cpuShares = parseCpuShares(asString(o.cpuShares));
  if (o.cpusetCpus !== undefined) limits.cpusetCpus = parseCpuset(o.cpusetCpus);
  if (o.pidsLimit !== undefined) limits.pidsLimit = parsePidsLimit(asString(o.pidsLimit));
  return { ...limits, ...parseResourceFlags(o, limits) };
}

function checkBytes(n: number): number {
  return parseMemory(String(n));
}

/** --restart no|always|unless-stopped|on-failure[:N] */
export function parseRestart(value: string | undefined): RestartPolicy {
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(value ?? 'no');
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure')) {
    throw invalid('--restart', 'no, always, unless-stopped or on-failure[:MAX_RETRIES]', value);
  }
  return { name: m[1] as RestartPolicy['name'], maxRetries: m[2] === undefined ? 0 : Number(m[2]) };
}

/** --log-opt max-size=10m / max-file=3; docker's json-file defaults are unbounded, berth's are
 *  10 MB x 3 so that a chatty service cannot fill the disk. */
export function parseLogOpts(opts: string[] = []): LogOptions {
  const out: LogOptions = { maxSize: 10 * 1024 * 1024, maxFiles: 3 };
  for (const o of opts) {
    const eq = o.indexOf('=');
    const key = o.slice(0, eq);
    const value = o.slice(eq + 1);
    if (key === 'max-size') out.maxSize = value === '-1' ? 0 : parseBytes(value, '--log-opt max-size');
    else if (key === 'max-file' && /^[1-9]\d*$/.test(value)) out.maxFiles = Number(value);
    else throw invalid('--log-opt', 'max-size=SIZE or max-file=N', o);
  }
  return out;
}

/** docker's -v modes: ro/rw, nocopy, the SELinux relabels z/Z (no-ops where SELinux is off, see
 *  checkVolumeModes), a bind's propagation, and macOS's consistency words (ignored, as on Linux). */
const VOLUME_MODES = ['ro', 'rw', 'nocopy', 'z', 'Z', ...PROPAGATIONS, 'consistent', 'cached', 'delegated'];

/**
 * -v as docker reads it: HOST:CONTAINER[:MODES] binds a host path (absolute), NAME:CONTAINER[:MODES]
 * mounts the named volume NAME (made if missing), a lone /CONTAINER an anonymous volume. MODES are
 * comma-separated: ro or rw, nocopy (no copy-up of the image's content), z or Z.
 */
export function parseVolume(spec: string | VolumeSpec): VolumeSpec {
  let v: VolumeSpec;
  if (typeof spec === 'string') {
    const parts = spec.split(':');
    if (parts.length > 3 || parts.some((p) => p === ''))
      throw invalid('--volume', 'HOST_PATH:CONTAINER_PATH[:ro], NAME:CONTAINER_PATH[:ro] or /CONTAINER_PATH', spec);
    const modes = parts.length === 3 ? parts[2].split(',') : [];
    const bad = modes.find((m) => !VOLUME_MODES.includes(m));
    if (bad !== undefined)
      throw invalid('--volume', 'the modes ro, rw, nocopy, z, Z or a propagation (rshared, ...) after the second colon', spec);
    if (modes.includes('ro') && modes.includes('rw')) throw invalid('--volume', 'one of ro and rw', spec);
    const readonly = modes.includes('ro');
    const propagation = checkVolumeModes(spec, modes, parts.length === 3 && !isVolumeName(parts[0]));
    if (parts.length === 1) {
      v = { hostPath: '', containerPath: parts[0], readonly: false, anonymous: true };
    } else if (isVolumeName(parts[0])) {
      checkVolumeName(parts[0]);
      v = { hostPath: '', containerPath: parts[1], readonly, volume: parts[0], ...(modes.includes('nocopy') ? { noCopy: true } : {}) };
    } else {
      v = { hostPath: parts[0], containerPath: parts[1], readonly, ...(propagation ? { propagation } : {}) };
    }
  } else {
    v = { ...spec, hostPath: spec.hostPath ?? '' };
    if (v.volume !== undefined && !v.anonymous) checkVolumeName(v.volume);
  }
  const isVolume = v.anonymous || v.volume !== undefined;
  if (!isVolume && !path.isAbsolute(v.hostPath)) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Expected an absolute host path for --volume but received ${quote(v.hostPath)}; write it as $PWD/${quote(v.hostPath).slice(1, -1)}`,
    );
  }
  if (!path.posix.isAbsolute(v.containerPath)) {
    throw new BerthError('INVALID_ARGUMENT', `Expected an absolute container path for --volume but received ${quote(v.containerPath)}`);
  }
  const target = path.posix.normalize(v.containerPath).replace(/(.)\/+$/, '$1');
  if (target === '/')
    throw new BerthError('INVALID_ARGUMENT', 'A volume cannot be mounted on the container\'s root "/"; choose a directory below it');
  return { ...v, hostPath: isVolume ? v.hostPath : path.resolve(v.hostPath), containerPath: target };
}

/** docker: a source that is not a path (no leading / and not . or ..-relative) names a volume. */
function isVolumeName(source: string): boolean {
  return !source.startsWith('/') && !source.startsWith('.');
}

/** The KEY=VALUE (or KEY) entries of -e or an env object, keys checked: docker refuses an empty
 *  key or whitespace in one, and an object key with "=" would silently become another key. */
export function envEntries(env: NonNullable<ContainerOptions['env']>): string[] {
  if (!Array.isArray(env)) {
    const bad = Object.keys(env).find((k) => k.includes('='));
    if (bad !== undefined) throw invalid('env', 'keys without "="', bad);
  }
  const entries = Array.isArray(env) ? env : Object.entries(env).map(([k, v]) => `${k}=${v}`);
  for (const e of entries) {
    const eq = e.indexOf('=');
    const key = eq < 0 ? e : e.slice(0, eq);
    if (!key || /\s/.test(key)) throw invalid('--env', 'KEY=VALUE', e);
  }
  return entries;
}

/** Image env, then the defaults, then the user's: later entries of a key win, as in docker. */
export function buildEnv(imageEnv: string[], user: ContainerOptions['env'], hostname: string, tty: boolean, home: string): string[] {
  const env = new Map<string, string>();
  const put = (entry: string) => {
    const eq = entry.indexOf('=');
    env.set(eq < 0 ? entry : entry.slice(0, eq), entry);
  };
  put(`PATH=${DEFAULT_PATH}`);
  imageEnv.forEach(put);
  put(`HOSTNAME=${hostname}`);
  if (!imageEnv.some((e) => e.startsWith('HOME='))) put(`HOME=${home}`);
  if (tty) put('TERM=xterm');
  for (const e of envEntries(user ?? [])) {
    const eq = e.indexOf('=');
    const key = eq < 0 ? e : e.slice(0, eq);
    if (eq >= 0) put(e);
    else if (process.env[key] !== undefined) put(`${key}=${process.env[key]}`);
  }
  return [...env.values()];
}

/** The container's environment with exec's -e entries on top (KEY alone copies from here). */
export function mergeEnv(base: string[], extra: NonNullable<ContainerOptions['env']>): string[] {
  const env = new Map<string, string>();
  for (const e of base) env.set(e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')), e);
  for (const e of envEntries(extra)) {
    const eq = e.indexOf('=');
    const key = eq < 0 ? e : e.slice(0, eq);
    if (eq >= 0) env.set(key, e);
    else if (process.env[key] !== undefined) env.set(key, `${key}=${process.env[key]}`);
  }
  return [...env.values()];
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  groups: number[];
  home: string;
}

/**
 * Reads /etc/passwd or /etc/group as the container will see it: the topmost layer with an entry at
 * that path decides. A regular file is read; anything else there (an overlay whiteout, which is how
 * a layer deletes the file, or a symlink, which is not followed out of the layer) means the image
 * has no such file. Opaque directories are not consulted (reading their xattr needs the addon).
 */
function readLayerFile(layers: string[], file: string): string | undefined {
  for (const layer of layers) {
    const p = path.join(layer, file);
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    return st.isFile() ? fs.readFileSync(p, 'utf8') : undefined;
  }
  return undefined;
}

/** uid[:gid] or name[:group] split in two, its shape checked; names are looked up in the image later. */
export function splitUser(spec: string): [user: string, group: string | undefined] {
  const parts = spec.split(':');
  const [u, g] = parts;
  if (!u || parts.length > 2 || g === '') throw invalid('--user', 'uid[:gid] or name[:group]', spec);
  // 4294967295 is (uid_t)-1, "no change" to setresuid: never a user
  if ([u, g].some((x) => x !== undefined && /^\d+$/.test(x) && !(Number(x) <= 0xfffffffe)))
    throw invalid('--user', 'uid[:gid] below 4294967295', spec);
  return [u, g];
}

/** --group-add: gids, or group names looked up in the image's /etc/group. */
export function resolveGroupAdd(values: readonly string[], layers: string[]): number[] {
  const group = values.some((v) => !/^\d+$/.test(v)) ? (readLayerFile(layers, 'etc/group') ?? '').split('\n').map((l) => l.split(':')) : [];
  return values.map((v) => {
    checkGroupAdd(v);
    if (/^\d+$/.test(v)) return Number(v);
    const entry = group.find((g) => g[0] === v);
    if (!entry)
      throw new BerthError(
        'INVALID_ARGUMENT',
        `Unable to find group ${quote(v)} for --group-add: no matching entry in the image's /etc/group; give a numeric gid instead`,
      );
    return Number(entry[2]);
  });
}

/** The shape of one --group-add, before the image is known. */
export function checkGroupAdd(v: string): void {
  if (!/^(\d+|[a-zA-Z_][a-zA-Z0-9_.-]*)$/.test(v) || (/^\d+$/.test(v) && !(Number(v) <= 0xfffffffe)))
    throw invalid('--group-add', 'a gid below 4294967295 or a group name', v);
}

/** docker's --user: uid[:gid] or name[:group], names looked up in the image. */
export function resolveUser(spec: string | undefined, layers: string[]): ResolvedUser {
  const passwd = (readLayerFile(layers, 'etc/passwd') ?? '').split('\n').map((l) => l.split(':'));
  const group = (readLayerFile(layers, 'etc/group') ?? '').split('\n').map((l) => l.split(':'));
  const [u, g] = splitUser(spec ?? '0');
  let uid: number;
  let gid: number | undefined;
  let home = '/';
  let name: string | undefined;
  const entry = /^\d+$/.test(u) ? passwd.find((p) => p[2] === u) : passwd.find((p) => p[0] === u);
  if (/^\d+$/.test(u)) {
    uid = Number(u);
  } else if (entry) {
    uid = Number(entry[2]);
  } else {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Unable to find user ${quote(u)}: no matching entry in the image's /etc/passwd; give a numeric uid instead`,
    );
  }
  if (entry) {
    gid = Number(entry[3]);
    home = entry[5] || '/';
    name = entry[0];
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const ge = group.find((x) => x[0] === g);
      if (!ge)
        throw new BerthError(
          'INVALID_ARGUMENT',
          `Unable to find group ${quote(g)}: no matching entry in the image's /etc/group; give a numeric gid instead`,
        );
      gid = Number(ge[2]);
    }
  }
  gid ??= 0;
  if (uid === 0 && !entry) home = '/root';
  const groups = new Set<number>([gid]);
  if (name && g === undefined) {
    for (const ge of group) if (ge[3]?.split(',').includes(name)) groups.add(Number(ge[2]));
  }
  if (!(uid <= 0xfffffffe) || !(gid <= 0xfffffffe)) throw invalid('--user', 'uid[:gid] below 4294967295', spec);
  return { uid, gid, groups: [...groups], home };
}

// --security-opt's parser lives in security-options.ts (seccomp profiles, LSM options).
export { parseSecurityOpts, type SecurityOptions } from './security-options';
