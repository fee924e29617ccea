/**
 * docker's namespace flags (--pid, --ipc, --uts, --userns, --cgroupns, --network container:X):
 * checked into the modes config.json records, and at each start turned into the OCI config's
 * linux.namespaces (a namespace left out is the host's; one with a path is joined).
 *
 * A container named by `container:X` is recorded by its ID at create and must be running at every
 * start: its namespaces are those of its init, /proc/PID/ns/*, with the PID checked against the
 * start time its state records (Runtime.resolve reconciles it), as exec enters a container.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { BerthError } from '../errors';
import type { ContainerNetwork } from '../network/types';
import type { Mount, Namespace } from '../oci/spec';
import { processStartTime } from '../util/proc';
import { quote } from '../util/quote';
import { isRunning } from './container-predicates';
import { donorShm, sharesShm, shmDirOf } from './ipc-shm';
import type { JoinedMode, NamespaceModes } from './namespace-modes';
import type { ContainerConfig, ContainerInfo } from './types';

/** The namespace flags as ContainerOptions has them (docker's spellings). */
export interface NamespaceOptionsInput {
  /** --pid: host (the host's PID namespace) or container:NAME_OR_ID (that running container's). */
  pid?: string;
  /** --ipc: private (the default), shareable (its own, joinable, /dev/shm a host tmpfs others bind:
   *  src/runtime/ipc-shm.ts), host, or container:NAME_OR_ID (a shareable one's, with its /dev/shm). */
  ipc?: string;
  /** --uts: host (the host's hostname and UTS namespace). */
  uts?: string;
  /** --userns: host, the default (berth does not remap users). */
  userns?: string;
  /** --cgroupns: private (the default: its own cgroup is its /) or host. */
  cgroupns?: string;
}

const JOIN_PREFIX = 'container:';

/** The reference of a `container:X` value, undefined for any other; `container:` alone is refused. */
export function joinedRef(value: string | undefined, flag: string): string | undefined {
  if (value === undefined || !value.startsWith(JOIN_PREFIX)) return undefined;
  const ref = value.slice(JOIN_PREFIX.length);
  if (ref === '') throw new BerthError('INVALID_ARGUMENT', `${flag} container: needs a container name or ID, like ${flag} container:web`);
  return ref;
}

function mode<T extends string>(
  value: string | undefined,
  flag: string,
  allowed: readonly T[],
  joinable: boolean,
): T | JoinedMode | undefined {
  if (value === undefined || value === '') return undefined;
  if (joinable && joinedRef(value, flag) !== undefined) return value as JoinedMode;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  const list = [...allowed, ...(joinable ? ['container:NAME_OR_ID'] : [])];
  throw new BerthError(
    'INVALID_ARGUMENT',
    `Expected ${list.slice(0, -1).join(', ')}${list.length > 1 ? ' or ' : ''}${list[list.length - 1]} for ${flag} but received ${quote(value)}`,
  );
}

/** The IPC sysctls a container may set only in an IPC namespace of its own. */
const IPC_SYSCTL = /^(kernel\.(msg|sem|shm)|fs\.mqueue\.)/;

/** The modes of the flags as given (a `container:X` still names X as the user did), with docker's
 *  conflicts refused. Needs no image and no store: the API boundary calls it too. */
export function parseNamespaceOptions(o: NamespaceOptionsInput & ContainerOptionsSubset): NamespaceModes {
  const pid = mode(o.pid, '--pid', ['host'] as const, true);
  const ipc = mode(o.ipc, '--ipc', ['host', 'private', 'shareable'] as const, true);
  const uts = mode(o.uts, '--uts', ['host'] as const, false);
  const cgroup = mode(o.cgroupns, '--cgroupns', ['host', 'private'] as const, false);
  if (o.userns !== undefined && o.userns !== '' && o.userns !== 'host') {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `--userns ${o.userns} is not supported: berth runs containers in the host's user namespace (--userns host, the default)`,
    );
  }
  if (uts === 'host' && o.hostname !== undefined)
    throw new BerthError('INVALID_ARGUMENT', "Conflicting options: --hostname and --uts host; the container has the host's hostname");
  if (uts === 'host' && o.domainname !== undefined)
    throw new BerthError('INVALID_ARGUMENT', "Conflicting options: --domainname and --uts host; the container has the host's domain name");
  const sysctls = Array.isArray(o.sysctls) ? o.sysctls.map((s) => s.split('=')[0]) : Object.keys(o.sysctls ?? {});
  const ipcKey = sysctls.find((k) => IPC_SYSCTL.test(k));
  if (ipcKey !== undefined && ipc !== undefined && ipc !== 'private' && ipc !== 'shareable')
    throw new BerthError(
      'INVALID_ARGUMENT',
      `--sysctl ${ipcKey} is not allowed with --ipc ${ipc}: the container has no IPC namespace of its own`,
    );
  // /dev/shm is then the host's or X's (src/runtime/ipc-shm.ts): a size of its own means nothing
  if (o.shmSize !== undefined && (ipc === 'host' || ipc?.startsWith(JOIN_PREFIX)))
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Conflicting options: --shm-size and --ipc ${ipc}; /dev/shm is ${ipc === 'host' ? "the host's" : "that container's"}, drop --shm-size`,
    );
  const netKey = sysctls.find((k) => k.startsWith('net.'));
  if (netKey !== undefined && joinedRef(o.network, '--network') !== undefined)
    throw new BerthError(
      'INVALID_ARGUMENT',
      `--sysctl ${netKey} is not allowed with --network ${o.network}: the network namespace is that container's`,
    );
  const joined = [pid, ipc, o.network].find((m) => m?.startsWith(JOIN_PREFIX));
  // the shim restarts from the plan it was given, whose namespace paths name X's init of then
  if (joined !== undefined && o.restart !== undefined && o.restart !== 'no')
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Conflicting options: --restart ${o.restart} and ${joined}; a container that joins another's namespaces is not restarted by berth`,
    );
  return {
    ...(pid ? { pid } : {}),
    ...(ipc && ipc !== 'private' ? { ipc } : {}),
    ...(uts === 'host' ? { uts } : {}),
    ...(cgroup === 'host' ? { cgroup } : {}),
  };
}

/** The other options the namespace flags conflict with. */
interface ContainerOptionsSubset {
  hostname?: string;
  restart?: string;
  domainname?: string;
  network?: string;
  sysctls?: string[] | Record<string, string>;
  shmSize?: string | number;
}

/** The network options that conflict with --network container:X (docker's errors), checked
 *  before the network options are parsed: X's network is used as it is. */
export function checkJoinedNetwork(o: {
  network?: string;
  publish?: string[];
  publishAll?: boolean;
  ip?: string;
  mac?: string;
  dns?: string[];
  addHosts?: string[];
  hostname?: string;
}): string | undefined {
  const ref = joinedRef(o.network, '--network');
  if (ref === undefined) return undefined;
  const conflict = (what: string, why: string): never => {
    throw new BerthError('INVALID_ARGUMENT', `Conflicting options: ${what} and --network ${o.network}; ${why}`);
  };
  if ((o.publish?.length ?? 0) > 0 || o.publishAll) conflict('-p/-P', 'ports are published by the container whose network it joins');
  if (o.ip !== undefined || o.mac !== undefined) conflict('--ip/--mac-address', "the interfaces are that container's");
  if (o.dns !== undefined) conflict('--dns', "/etc/resolv.conf is that container's");
  if ((o.addHosts?.length ?? 0) > 0) conflict('--add-host', "/etc/hosts is that container's");
  if (o.hostname !== undefined) conflict('--hostname', "the hostname is that container's");
  return ref;
}

/**
 * create: each `container:X` resolved to X's ID (a missing X is CONTAINER_NOT_FOUND now; that X
 * runs is checked at every start). With --network container:X the container takes X's hostname,
 * as docker's does.
 */
export function resolveJoinedContainers<C extends Pick<ContainerConfig, 'namespaces' | 'network' | 'hostname' | 'env'>>(
  config: C,
  resolve: (ref: string) => ContainerInfo,
): C {
  const ns = { ...config.namespaces };
  for (const key of ['pid', 'ipc'] as const) {
    const ref = joinedRef(ns[key], `--${key}`);
    if (ref !== undefined) ns[key] = `container:${resolve(ref).config.id}`;
  }
  const out = { ...config, ...(Object.keys(ns).length ? { namespaces: ns } : {}) };
  if (config.network?.mode === 'container' && config.network.container !== undefined) {
    const x = resolve(config.network.container).config;
    out.network = { mode: 'container', container: x.id };
    out.hostname = x.hostname;
    out.env = config.env.map((e) => (e === `HOSTNAME=${config.hostname}` ? `HOSTNAME=${x.hostname}` : e));
  }
  return out;
}

/** What a start joins: namespace paths of running containers, and the network container's files. */
export interface NamespaceJoins {
  pid?: string;
  ipc?: string;
  /** --ipc container:X: the host directory of X's /dev/shm to bind (src/runtime/ipc-shm.ts). */
  ipcShm?: string;
  network?: string;
  /** --network container:X: X's directory (its hostname, hosts and resolv.conf) and hostname. */
  etcDir?: string;
  hostname?: string;
}

/** The init of running container `id`, for `flag`: its pid, checked against its start time. */
function runningInit(id: string, flag: string, resolve: (ref: string) => ContainerInfo): number {
  let info: ContainerInfo;
  try {
    info = resolve(id);
  } catch (e) {
    if (e instanceof BerthError && e.code === 'CONTAINER_NOT_FOUND')
      throw new BerthError('CONTAINER_NOT_FOUND', `${flag}: the container ${id.slice(0, 12)} it joins no longer exists`, { cause: e });
    throw e;
  }
  const { state, config } = info;
  if (!isRunning(state) || state.pid === undefined || processStartTime(state.pid) !== state.pidStartTime)
    throw new BerthError(
      'INVALID_STATE',
      `Cannot join the namespaces of container ${quote(config.name)} (${flag}): it is not running; start it first (berth start ${config.name})`,
    );
  return state.pid;
}

/** At a start: the namespaces of the running containers this one joins. */
export function namespaceJoins(
  config: Pick<ContainerConfig, 'namespaces' | 'network'>,
  resolve: (ref: string) => ContainerInfo,
  containerDir: (id: string) => string,
): NamespaceJoins | undefined {
  const joins: NamespaceJoins = {};
  const pidRef = joinedRef(config.namespaces?.pid, '--pid');
  if (pidRef !== undefined) joins.pid = `/proc/${runningInit(pidRef, `--pid container:${pidRef.slice(0, 12)}`, resolve)}/ns/pid`;
  const ipcRef = joinedRef(config.namespaces?.ipc, '--ipc');
  if (ipcRef !== undefined) {
    const pid = runningInit(ipcRef, `--ipc container:${ipcRef.slice(0, 12)}`, resolve);
    // docker's rule: only a donor made to share (or on the host's IPC namespace) is joined
    const donor = resolve(ipcRef).config;
    if (donor.namespaces?.ipc !== 'shareable' && donor.namespaces?.ipc !== 'host')
      throw new BerthError(
        'INVALID_STATE',
        `Cannot join the IPC namespace of container ${quote(donor.name)}: it is not shareable; create it with --ipc shareable`,
      );
    joins.ipc = `/proc/${pid}/ns/ipc`;
    const shm = donorShm(donor, containerDir(ipcRef));
    if (shm !== undefined) joins.ipcShm = shm;
  }
  if (config.network?.mode === 'container' && config.network.container !== undefined) {
    const id = config.network.container;
    const pid = runningInit(id, `--network container:${id.slice(0, 12)}`, resolve);
    joins.network = `/proc/${pid}/ns/net`;
    joins.etcDir = containerDir(id);
    joins.hostname = resolve(id).config.hostname;
  }
  return Object.keys(joins).length ? joins : undefined;
}

/** linux.namespaces of a container's OCI config: its own namespaces but the host's and joined ones.
 *  `netnsPath`: its pinned CNI network namespace. */
export function namespaceList(
  config: Pick<ContainerConfig, 'namespaces' | 'network'>,
  netnsPath?: string,
  joins?: NamespaceJoins,
): Namespace[] {
  const m = config.namespaces ?? {};
  const own = (type: Namespace['type'], joined?: string): Namespace[] => [joined ? { type, path: joined } : { type }];
  const net = config.network?.mode === 'host' ? [] : own('network', joins?.network ?? netnsPath);
  return [
    ...(m.pid === 'host' ? [] : own('pid', joins?.pid)),
    { type: 'mount' },
    ...(m.uts === 'host' ? [] : own('uts')),
    ...(m.ipc === 'host' ? [] : own('ipc', joins?.ipc)),
    ...net,
    ...(m.cgroup === 'host' ? [] : own('cgroup')),
  ];
}

/** The source of /etc/hostname, hosts and resolv.conf: X's with --network container:X. */
export const etcDirOf = (containerDir: string, joins?: NamespaceJoins) => joins?.etcDir ?? containerDir;

export const etcFile = (containerDir: string, joins: NamespaceJoins | undefined, f: string) => path.join(etcDirOf(containerDir, joins), f);

/** containerConfig's part: `namespaces` as given (create resolves container:X, see
 *  resolveJoinedContainers), only when one differs from the container's own. */
export function namespaceConfig(o: NamespaceOptionsInput & ContainerOptionsSubset): { namespaces?: NamespaceModes } {
  const namespaces = parseNamespaceOptions(o);
  return Object.keys(namespaces).length ? { namespaces } : {};
}

/** --network container:X as containerConfig records it (X by the name given until create
 *  resolves it), or undefined for any other network. */
export function joinedNetworkConfig(o: Parameters<typeof checkJoinedNetwork>[0]): { network: ContainerNetwork } | undefined {
  const ref = checkJoinedNetwork(o);
  return ref === undefined ? undefined : { network: { mode: 'container', container: ref } };
}

/** A container's hostname unless --hostname gives one: the host's with --uts host (docker). */
export const defaultHostname = (o: NamespaceOptionsInput, id: string) => (o.uts === 'host' ? os.hostname() : id.slice(0, 12));

/** /sys/fs/cgroup as docker mounts it: the container's own cgroup (its limits readable inside),
 *  read-only unless --privileged. specToPlan makes a `cgroup` mount cgroup2 on v2, and on v1 a
 *  tmpfs with the container's directory of each hierarchy bound in (as runc does). */
export function cgroupfsMount(config: Pick<ContainerConfig, 'privileged'>): Mount {
  return {
    destination: '/sys/fs/cgroup',
    type: 'cgroup',
    source: 'cgroup',
    options: ['nosuid', 'noexec', 'nodev', 'relatime', config.privileged ? 'rw' : 'ro'],
  };
}

/** /dev/shm: the host's with --ipc host (as docker binds it); a shareable container's tmpfs on the
 *  host, in its directory, and with --ipc container:X the same one of X's (src/runtime/ipc-shm.ts);
 *  else a tmpfs of the container's own. */
export function shmMount(config: Pick<ContainerConfig, 'namespaces'>, own: Mount, containerDir: string, joins?: NamespaceJoins): Mount {
  const bind = (source: string): Mount => ({
    destination: '/dev/shm',
    type: 'bind',
    source,
    options: ['rbind', 'nosuid', 'nodev', 'noexec'],
  });
  if (config.namespaces?.ipc === 'host') return { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind'] };
  if (sharesShm(config)) return bind(shmDirOf(containerDir));
  return joins?.ipcShm !== undefined ? bind(joins.ipcShm) : own;
}
