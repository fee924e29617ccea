/**
 * The steps a container's process can fail at between clone and execve, as the native side names
 * them (native/core/errors.h, BERTH_CHILD_STEPS; test/unit/child-steps.test.ts checks the two lists
 * agree). A native start error carries one as `step`.
 */
export const CHILD_STEPS = [
  'parent death signal',
  'join cgroup',
  'unshare cgroup namespace',
  'sethostname',
  'join network namespace',
  'socket',
  'loopback up',
  'make / private',
  'mount rootfs',
  'open rootfs',
  'mkdir',
  'mknod',
  'symlink',
  'mount',
  'remount read-only',
  'mount target in /proc or /sys',
  'open /',
  'chdir rootfs',
  'pivot_root',
  'chdir old root',
  'make old root slave',
  'detach old root',
  'chdir /',
  'chdir',
  'open /dev/pts/ptmx',
  'unlockpt',
  'open pty peer',
  'setsid',
  'set controlling terminal',
  'dup2',
  'send pty master',
  'dup stdio',
  'dup2 stdio',
  'close_range',
  'no_new_privs',
  'drop capability',
  'seccomp',
  'setgroups',
  'setgid',
  'setuid',
  'capset',
  'execve',
  'setns',
  'clone',
  'pidfd_open',
  'set non-dumpable',
  'open cgroup',
  'open network namespace',
  'decode plan',
  'write',
  'mount propagation',
  'setrlimit',
  'oom_score_adj',
  'join namespace',
  'console socket',
  'exec fifo',
  'createContainer hook',
  'createContainer hook timeout',
] as const;

export type ChildStep = (typeof CHILD_STEPS)[number];

export function isChildStep(s: unknown): s is ChildStep {
  return typeof s === 'string' && (CHILD_STEPS as readonly string[]).includes(s);
}

/** docker's (and a shell's) exit status for a command that could not be started: 127 when the
 *  program does not exist, 126 when it cannot be run, 125 for the runtime's own failure. The native
 *  side's twin is startFailureStatus in native/core/errors.cc. */
export function startFailureStatus(step: ChildStep | undefined, code: string | undefined): 125 | 126 | 127 {
  if (step !== 'execve') return 125;
  return code === 'ENOENT' || code === 'ENOTDIR' ? 127 : 126;
}
