/**
 * `berth-oci features`: the runtime-spec 1.1 features document (features.md of the spec). It is
 * what callers (containerd's CRI, podman) read to decide what to send, so it says what berth's
 * runtime (src/oci/runtime.ts) honours, no more: a field a caller sends that is listed here must
 * work, and one berth cannot honour is left out (or `enabled: false`) so it is not sent. Keep it in
 * step with src/oci when the runtime learns something.
 */
import * as fs from 'node:fs';
import { OCI_VERSION } from '../oci/spec';
import { command } from './command';

/** The capability names of the kernel's numbering, CAP_CHOWN (0) to CAP_CHECKPOINT_RESTORE (40). */
const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** Mount options of bind, tmpfs, proc, sysfs, devpts, mqueue and cgroup mounts: the flags mount(2)
 *  takes, propagation, bind/rbind, and the recursive (mount_setattr) forms, which are refused at
 *  create on a kernel older than 5.12. tmpcopyup and idmap are not implemented, so not listed. */
const MOUNT_OPTIONS = [
  'acl',
  'async',
  'atime',
  'bind',
  'defaults',
  'dev',
  'diratime',
  'dirsync',
  'exec',
  'iversion',
  'lazytime',
  'loud',
  'mand',
  'noacl',
  'noatime',
  'nodev',
  'nodiratime',
  'noexec',
  'noiversion',
  'nolazytime',
  'nomand',
  'norelatime',
  'nostrictatime',
  'nosuid',
  'nosymfollow',
  'private',
  'ratime',
  'rbind',
  'rdev',
  'rdiratime',
  'relatime',
  'remount',
  'rexec',
  'rnoatime',
  'rnodev',
  'rnodiratime',
  'rnoexec',
  'rnorelatime',
  'rnostrictatime',
  'rnosuid',
  'rnosymfollow',
  'ro',
  'rprivate',
  'rrelatime',
  'rro',
  'rrw',
  'rshared',
  'rslave',
  'rstrictatime',
  'rsuid',
  'rsymfollow',
  'runbindable',
  'rw',
  'shared',
  'silent',
  'slave',
  'strictatime',
  'suid',
  'symfollow',
  'sync',
  'unbindable',
];

/** Seccomp architectures a filter built on this machine can name: the native one and the ABIs
 *  its kernel also runs. */
function seccompArchs(): string[] {
  switch (process.arch) {
    case 'x64':
      return ['SCMP_ARCH_X32', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64'];
    case 'arm64':
      return ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'];
    default:
      return [];
  }
}

/** The capabilities this kernel knows (cap_last_cap), so none is offered that it would refuse. */
function capabilities(): string[] {
  let last = CAPABILITIES.length - 1;
  try {
    last = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  } catch {
    // no procfs: the whole list
  }
  return CAPABILITIES.slice(0, last + 1);
}

export function features(version: string): Record<string, unknown> {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: MOUNT_OPTIONS,
    linux: {
      // No time namespace. A user namespace is new (with uidMappings and gidMappings) or joined by
      // path; mounts cannot be idmapped (mountExtensions below).
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts'],
      capabilities: capabilities(),
      // cgroupfs only: systemd's slices and scopes are not driven (--systemd-cgroup is refused).
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: true },
      seccomp: {
        enabled: true,
        // SCMP_ACT_NOTIFY needs a listener socket (listenerPath), which berth does not pass on.
        actions: [
          'SCMP_ACT_ALLOW',
          'SCMP_ACT_ERRNO',
          'SCMP_ACT_KILL',
          'SCMP_ACT_KILL_PROCESS',
          'SCMP_ACT_KILL_THREAD',
          'SCMP_ACT_LOG',
          'SCMP_ACT_TRACE',
          'SCMP_ACT_TRAP',
        ],
        operators: ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE'],
        archs: seccompArchs(),
        knownFlags: [],
        supportedFlags: [],
      },
      // Profiles and labels are accepted and ignored only on a host with neither LSM, so neither
      // is offered as supported.
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { 'org.opencontainers.berth.version': version },
  };
}

export const featuresCommand = command({
  name: 'features',
  summary: 'show the enabled features',
  args: '',
  description: 'Show the enabled features (the OCI runtime-spec features document).',
  flags: [],
  minArgs: 0,
  maxArgs: 0,
  run(_a, ctx) {
    const { version } = require('../../package.json') as { version: string };
    // Indented with four spaces, as runc prints it.
    ctx.io.stdout(JSON.stringify(features(version), null, 4) + '\n');
    return 0;
  },
});
