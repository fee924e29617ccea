import type { NetworkExtras } from '../network/run-network-extras';
import type { Rlimit, Spec } from '../oci/spec';
import type { LinuxSeccomp } from '../oci/seccomp/spec';
import type { DeviceMapping } from './device-options';
import type { TmpfsSpec } from './filesystem-options';
import type { ContainerNetwork, EndpointInfo, HostEntry } from '../network/types';
import type { CgroupStats } from './cgroups/types';
import type { CgroupLimits } from './cgroups';
import type { StorageDriverName } from './rootfs';
import type { LogOptions, RestartPolicy } from './shim';
import type { HealthConfig } from './health/options';
import type { HealthState } from './health/monitor';
import type { NamespaceModes } from './namespace-modes';

export interface VolumeSpec {
  /** A bind's host directory; a volume's _data directory once create made or found the volume. */
  hostPath: string;
  containerPath: string;
  readonly: boolean;
  /** A named volume's name; for an anonymous one, the generated name create gave it. */
  volume?: string;
  /** `-v /path` or an image VOLUME: a volume of its own, removed by rm -v and --rm. */
  anonymous?: boolean;
  /** volume-nocopy: no copy-up of the image's content into a new volume. */
  noCopy?: boolean;
  /** From --mount (inspect shows docker's Mode ""; a bind's source must exist). */
  mount?: boolean;
  /** --mount type=bind: the source must exist (docker), not made as -v makes it. */
  mustExist?: boolean;
  /** A bind whose source is a file (found at create): the target is made as an empty file. */
  file?: boolean;
  /** bind-propagation (or a -v propagation word): private, rprivate, shared, rshared, slave, rslave. */
  propagation?: string;
  /** bind-nonrecursive: the source's submounts are not bound along. */
  nonRecursive?: boolean;
  /** volume-label: the labels of the volume when this mount makes it. */
  labels?: Record<string, string>;
}

/** `inspect`: a container's mount as docker shows it. */
export interface MountInfo {
  Type: 'bind' | 'volume' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  /** A bind's propagation (docker's default rprivate); "" for volumes and tmpfs. */
  Propagation: string;
}

/** Everything needed to start a container, fixed at create time. Stored as config.json.
 *  NetworkExtras: --network-alias, --link, --dns-search, --dns-option, --expose. */
export interface ContainerConfig extends NetworkExtras {
  id: string;
  name: string;
  /** The reference the user gave, and the image ID it resolved to. */
  image: string;
  imageId: string;
  created: string;
  argv: string[];
  env: string[];
  workdir: string;
  uid: number;
  gid: number;
  groups: number[];
  hostname: string;
  tty: boolean;
  interactive: boolean;
  autoRemove: boolean;
  volumes: VolumeSpec[];
  /** docker's resource flags as the cgroup managers take them. */
  limits: CgroupLimits;
  storageDriver: StorageDriverName;
  /** Image layer directories, top first. */
  layers: string[];
  /** --security-opt seccomp=unconfined: no seccomp filter (absent: berth's default filter). */
  seccomp?: boolean;
  /** --security-opt no-new-privileges. */
  noNewPrivileges?: boolean;
  /** The capabilities its processes keep (CAP_ names; containerCapabilities); absent: docker's defaults. */
  capabilities?: string[];
  /** --privileged: every capability and device, no seccomp, no masked or read-only paths, /sys writable. */
  privileged?: boolean;
  /** --device: host devices made in the container, their rules after docker's default ones. */
  devices?: DeviceMapping[];
  /** --device-cgroup-rule: devices.allow rules ("c 1:3 rwm") after docker's default ones. */
  deviceCgroupRules?: string[];
  /** --security-opt seccomp=FILE, rendered into OCI linux.seccomp (instead of berth's filter). */
  seccompProfile?: LinuxSeccomp;
  /** --security-opt apparmor= and label=: kept (inspect), not applied (the host has no such LSM). */
  apparmorProfile?: string;
  securityLabel?: string[];
  /** --security-opt systempaths=unconfined: no masked or read-only paths. */
  systemPathsUnconfined?: boolean;
  /** Run berth-init as PID 1 (reaps zombies, forwards signals). */
  init?: boolean;
  /** Detached containers: what the shim does when the container exits. */
  restart?: RestartPolicy;
  /** Detached containers: how the shim bounds the log. */
  log?: LogOptions;
  /** Networking; absent means none (loopback only). */
  network?: ContainerNetwork;
  /** User networks joined by `network connect`, attached after the primary one on every start. */
  connected?: Array<{ name: string; ip?: string }>;
  /** --dns: nameservers of /etc/resolv.conf instead of the host's. */
  dns?: string[];
  /** --add-host entries of /etc/hosts. */
  addHosts?: HostEntry[];
  /** --read-only: root.readonly of its OCI config. */
  readonlyRootfs?: boolean;
  /** --tmpfs mounts, docker's default options merged with the given ones. */
  tmpfs?: TmpfsSpec[];
  /** --shm-size in bytes (absent: docker's 64m). */
  shmSize?: number;
  /** --ulimit: process.rlimits of its OCI config. */
  ulimits?: Rlimit[];
  /** --sysctl: linux.sysctl of its OCI config (namespaced keys only). */
  sysctls?: Record<string, string>;
  /** --oom-score-adj. */
  oomScoreAdj?: number;
  /** --domainname: the UTS namespace's domain name. */
  domainname?: string;
  /** --cgroup-parent: the cgroup path its own cgroup goes below (absent: the runtime's parent). */
  cgroupParent?: string;
  /** The image's labels with -l/--label's over them. */
  labels?: Record<string, string>;
  /** --health-* over the image's HEALTHCHECK, run by berth-health (src/runtime/health). */
  healthcheck?: HealthConfig;
  /** --stop-signal (or the image's STOPSIGNAL) as a number; absent: SIGTERM (stop-options.ts). */
  stopSignal?: number;
  /** --stop-timeout: seconds stop waits before SIGKILL (-1: no limit); absent: 10. */
  stopTimeout?: number;
  /** --pid, --ipc, --uts, --cgroupns: the namespaces that are not its own (namespace-options.ts). */
  namespaces?: NamespaceModes;
}

export type ContainerStatus = 'created' | 'running' | 'exited';

/** What changes while a container lives. Stored as state.json, written atomically. */
export interface ContainerState {
  status: ContainerStatus;
  pid?: number;
  /** Start time of pid (clock ticks since boot), so a reused PID is never taken for the container. */
  pidStartTime?: number;
  exitCode?: number;
  oomKilled?: boolean;
  startedAt?: string;
  finishedAt?: string;
  /** Why the container stopped, when berth knows more than the exit code. */
  error?: string;
  /** Restarts the shim made under the restart policy. */
  restartCount?: number;
  /** The shim watching a detached container. */
  shimPid?: number;
  /** docker's State.Health: read from health.json (berth-health writes it), never stored here. */
  health?: HealthState;
  /** docker pause: read from the container's freezer cgroup when it is looked up, never stored here. */
  paused?: boolean;
}

export interface ContainerInfo {
  config: ContainerConfig;
  state: ContainerState;
  /** inspect only: the running container's address and published ports on its network. */
  network?: EndpointInfo;
  /** inspect only: every network the running container is on, the primary first. */
  networks?: EndpointInfo[];
  /** inspect only: the OCI runtime-spec config its starts run (src/oci/from-container.ts). */
  ociConfig?: Spec;
  /** inspect only: its binds and volumes. */
  mounts?: MountInfo[];
}

/** `stats`: a running container's cgroup figures. */
export interface ContainerStats extends CgroupStats {
  id: string;
  name: string;
}
