/**
 * A berth container as an OCI runtime-spec config, the way docker and podman fill one from their
 * run options: docker's capabilities, masked and read-only paths, devices and mounts. Every
 * `berth run` and `start` goes through it (then specToPlan), and `berth inspect` shows it.
 */
import * as fs from 'node:fs';
import { DEFAULT_CAPS } from '../native/constants';
import { ociDevices } from '../runtime/device-options';
import { resourcesOf } from '../runtime/resource-spec';
import { rootfsMount, type RootfsLayout } from '../runtime/rootfs';
import type { ContainerConfig } from '../runtime/types';
import type { Mount, Spec } from './spec';
import { OCI_VERSION } from './spec';
import { ANNOTATION } from './annotations';
import { cgroupfsMount, etcFile, namespaceList, shmMount, type NamespaceJoins } from '../runtime/namespace-options';
import { stopAnnotations } from '../runtime/stop-options';
import { rootPropagationOf, withPrivateBinds } from '../runtime/root-propagation';
import { ownSeccompProfile } from '../runtime/security-options';

/** Kernel state docker hides from containers (only what this kernel has). */
const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

let present: string[] | undefined;
const maskedPaths = () => (present ??= MASKED_PATHS.filter((p) => fs.existsSync(p)));

export function containerSpec(
  config: ContainerConfig,
  layout: RootfsLayout,
  containerDir: string,
  netnsPath?: string,
  joins?: NamespaceJoins,
): Spec {
  const caps = config.capabilities ?? DEFAULT_CAPS;
  // --security-opt seccomp=FILE: the container's own profile instead of berth's filter (none when privileged)
  const seccomp = ownSeccompProfile(config);
  const union = rootfsMount(config.storageDriver, layout);
  const kernelMounts: Mount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    shmMount(
      config,
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', config.shmSize !== undefined ? `size=${config.shmSize}` : 'size=65536k'],
      },
      containerDir,
      joins,
    ),
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...(config.privileged ? [] : ['ro'])] },
    cgroupfsMount(config),
  ];
  const etc: Mount[] = ['hostname', 'hosts', 'resolv.conf'].map((f) => ({
    destination: `/etc/${f}`,
    type: 'bind',
    source: etcFile(containerDir, joins, f),
    options: ['bind'],
  }));
  const volumes: Mount[] = config.volumes.map((v) => ({
    destination: v.containerPath,
    type: 'bind',
    source: v.hostPath,
    // bind-nonrecursive: not the source's submounts; a propagation (--mount bind-propagation, -v's
    // word) is applied to the bind after it is made (specToPlan's second mount call)
    options: [v.nonRecursive ? 'bind' : 'rbind', ...(v.readonly ? ['ro'] : []), ...(v.propagation ? [v.propagation] : [])],
  }));
  // --tmpfs: after the volumes, as docker orders its mounts (a tmpfs below a volume is on top)
  const tmpfs: Mount[] = (config.tmpfs ?? []).map((t) => ({
    destination: t.containerPath,
    type: 'tmpfs',
    source: 'tmpfs',
    options: t.options,
  }));
  const devices = ociDevices(config);
  const limits = resourcesOf(config.limits ?? {});
  const resources = devices.rules ? { ...limits, devices: devices.rules } : limits;
  const unconfinedPaths = config.privileged || config.systemPathsUnconfined;
  const namespaces = namespaceList(config, netnsPath, joins);
  const rootPropagation = rootPropagationOf(config);
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: config.tty,
      user: { uid: config.uid, gid: config.gid, additionalGids: config.groups },
      args: config.argv,
      env: config.env,
      cwd: config.workdir,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: !!config.noNewPrivileges,
      ...(config.apparmorProfile !== undefined ? { apparmorProfile: config.apparmorProfile } : {}),
      ...(config.ulimits ? { rlimits: config.ulimits } : {}),
      ...(config.oomScoreAdj !== undefined ? { oomScoreAdj: config.oomScoreAdj } : {}),
    },
    root: { path: layout.merged, ...(config.readonlyRootfs ? { readonly: true } : {}) },
    ...(config.namespaces?.uts === 'host' ? {} : { hostname: joins?.hostname ?? config.hostname }),
    ...(config.domainname !== undefined ? { domainname: config.domainname } : {}),
    // the union of the image's layers, mounted by the container's own process in its own mount
    // namespace: a mount on / of the root itself (specToPlan makes it the rootfs mount)
    mounts: [
      { destination: '/', type: union.fstype, source: union.source, options: union.data.split(',') },
      ...withPrivateBinds([...kernelMounts, ...etc, ...volumes], rootPropagation),
      ...tmpfs,
    ],
    linux: {
      namespaces,
      // a shared or slave bind: its propagation with the host (src/runtime/root-propagation.ts)
      ...(rootPropagation ? { rootfsPropagation: rootPropagation } : {}),
      ...(config.sysctls ? { sysctl: config.sysctls } : {}),
      // what inspect shows; starts apply config.limits through the cgroup manager
      ...(resources ? { resources } : {}),
      // --privileged: every host device; --device: those given (src/runtime/device-options.ts)
      ...(devices.devices ? { devices: devices.devices } : {}),
      ...(seccomp ? { seccomp } : {}),
      maskedPaths: unconfinedPaths ? [] : maskedPaths(),
      readonlyPaths: unconfinedPaths ? [] : READONLY_PATHS,
    },
    annotations: {
      [ANNOTATION.seccomp]: seccomp ? 'profile' : config.seccomp === false || config.privileged ? 'unconfined' : 'default',
      ...(config.init ? { [ANNOTATION.init]: 'true' } : {}),
      ...stopAnnotations(config),
    },
  };
}
