// crun refuses this kind of host's hybrid cgroups (v1 controllers, plus a cgroup2 tree at
// /sys/fs/cgroup/unified that holds some): the benches run it in a private mount namespace where
// the unified tree is lazily unmounted, so that crun sees a v1 host there. See bench/run.mjs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const TMPFS_MAGIC = 0x01021994;
const CGROUP2_SUPER_MAGIC = 0x63677270;

/** A tmpfs at /sys/fs/cgroup with a cgroup2 mount at unified/ that has controllers. */
export function cgroupHybridWithV2Controllers() {
  try {
    if (fs.statfsSync('/sys/fs/cgroup').type !== TMPFS_MAGIC) return false;
    if (fs.statfsSync('/sys/fs/cgroup/unified').type !== CGROUP2_SUPER_MAGIC) return false;
    return fs.readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim() !== '';
  } catch {
    return false;
  }
}

/** Runs `node script ...args` in a mount namespace without /sys/fs/cgroup/unified; the result of
 *  spawnSync (utf8), for the caller to read the worker's last stdout line. */
export function inNamespaceWithoutUnified(script, args, timeout) {
  return spawnSync(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--',
      '/bin/sh',
      '-c',
      'umount -l /sys/fs/cgroup/unified && exec "$@"',
      'sh',
      process.execPath,
      script,
      ...args,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout, killSignal: 'SIGKILL' },
  );
}
