// The spawn plans of berth's own starts and execs. A start is the container's OCI config
// (src/oci/from-container.ts) through the one translation every start takes (src/oci/to-plan.ts).
import * as path from 'node:path';
import type { NativeMountOp, NativeSpawnPlan } from '../native';
import { containerSpec } from '../oci/from-container';
import { capabilityPlan, execCandidates } from '../oci/process-plan';
import type { Spec } from '../oci/spec';
import { specToPlan } from '../oci/to-plan';
import type { CgroupPlan } from './cgroups';
import { ensureInitLayer } from './init-layer';
import type { RootfsLayout } from './rootfs';
import { containerSeccompFilter } from './security-options';
import { INIT_PATH, NSENTER_PATH } from './shim';
import type { NamespaceJoins } from './namespace-options';
import type { ContainerConfig } from './types';

export { DEFAULT_PATH, capabilityPlan, execCandidates } from '../oci/process-plan';

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

/** Everything the addon needs for one start, fully decided here: the container as an OCI config
 *  (src/oci/from-container.ts), through the one translation every start takes (specToPlan).
 *  `netnsPath`: the pinned network namespace (with its loopback up) of a container on CNI
 *  networks, joined instead of a new one. */
export function spawnPlan(
  config: ContainerConfig,
  containerDir: string,
  cgroup: CgroupPlan,
  stdio: StdioPlan,
  netnsPath?: string,
  joins?: NamespaceJoins,
): NativeSpawnPlan {
  const layout = layoutOf(config, containerDir);
  const spec = containerSpec(config, layout, containerDir, netnsPath, joins);
  const seccompFilter = containerSeccompFilter(config);
  return specToPlan(spec, {
    bundle: containerDir,
    cgroup,
    // the directories its process joins: /sys/fs/cgroup shows them (a v1 `cgroup` mount)
    cgroupDirs: cgroup.procs.map((p) => path.dirname(p)),
    // an init outside a PID namespace of its own, or joining another container's PID or IPC
    // namespace, is started by berth-nsenter (native/core/spawn.h startsThroughHelper)
    helperPath: config.namespaces?.pid || joins?.ipc ? NSENTER_PATH : '',
    stdio: stdio.fds,
    ...(seccompFilter ? { seccompFilter } : {}),
    berth: { parentDeathSignal: 9, initPath: INIT_PATH, ttySize: stdio.ttySize, fileBinds: fileBindsOf(config) },
  });
}

/** The container's OCI config, as its starts use it (berth inspect). */
export function containerOciSpec(config: ContainerConfig, containerDir: string, netnsPath?: string, joins?: NamespaceJoins): Spec {
  return containerSpec(config, layoutOf(config, containerDir), containerDir, netnsPath, joins);
}

const ETC_FILES: ReadonlySet<string> = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);

/** The /etc files and the binds whose source create found to be a file (-v FILE:FILE). */
function fileBindsOf(config: ContainerConfig): ReadonlySet<string> {
  const files = config.volumes.filter((v) => v.file).map((v) => v.containerPath);
  return files.length === 0 ? ETC_FILES : new Set([...ETC_FILES, ...files]);
}

/** The mounts of a start (as spawnPlan makes them): docker's kernel filesystems, /etc files,
 *  volumes, devices, masks and read-only paths. */
export function containerMounts(config: ContainerConfig, containerDir: string): NativeMountOp[] {
  return spawnPlan(config, containerDir, { dirs: [], writes: [], procs: [] }, { fds: [0, 1, 2], tty: false, ttySize: [24, 80] }).mounts;
}

/** What `exec` runs inside a running container: its user, environment and directory unless
 *  overridden; seccomp and no_new_privs the container's, so that exec'd processes are confined as
 *  its own are. */
export type ExecSpec = Pick<NativeSpawnPlan, 'argv' | 'env' | 'cwd' | 'uid' | 'gid' | 'groups' | 'noNewPrivileges'> & {
  seccomp: boolean;
  /** The container's own compiled profile (--security-opt seccomp=FILE), instead of berth's filter. */
  seccompFilter?: Buffer;
  capabilities?: string[];
};

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
    ...(spec.seccompFilter ? { seccompFilter: spec.seccompFilter } : {}),
  };
}
