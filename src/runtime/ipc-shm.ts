/**
 * /dev/shm of an --ipc shareable container, as docker makes it: a tmpfs mounted on the host in
 * the container's own directory (<container dir>/shm; --shm-size, nosuid,nodev,noexec,mode=1777)
 * and bound into the container by an OCI bind mount, so that containers joining its IPC namespace
 * (--ipc container:X) bind the same directory and see its files. Binding X's /dev/shm through
 * /proc/PID/root instead could follow X's symlinks out of its rootfs; this source is berth's own.
 *
 * The host mount lives from a start until the container is seen stopped: unmounted by the exit of
 * a foreground run, by rm, by the repair of whichever command next sees it stopped (a shim's exit
 * command, `berth container cleanup`, is one; so is ps after a kill -9), and by the shim before
 * it removes an --rm container's directory (native/shim/cleanup.cc). A private container keeps a
 * tmpfs of its own inside its mount namespace.
 *
 * A start in progress holds a lease (shm.starting: its pid and start time) from before it mounts
 * until the state names the new process or shim: a repair by a late exit command of the previous
 * run, which still sees the container stopped, must not unmount the fresh tmpfs. The lease of a
 * starter that died is void, so a crash never keeps a mount.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { processStartTime } from '../util/proc';
import type { ContainerConfig } from './types';

/** The host directory a shareable container's /dev/shm is mounted on. */
export const shmDirOf = (containerDir: string) => path.join(containerDir, 'shm');

/** Whether `dir` is a mount point in our mount namespace (mountinfo's 5th field; octal escapes). */
export function isMountPoint(dir: string): boolean {
  const escaped = dir.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === escaped);
}

export const sharesShm = (config: Pick<ContainerConfig, 'namespaces'>) => config.namespaces?.ipc === 'shareable';

const leaseOf = (containerDir: string) => path.join(containerDir, 'shm.starting');

/** Whether a live process is starting the container (its lease stands). */
export function shmStartInProgress(containerDir: string): boolean {
  let text: string;
  try {
    text = fs.readFileSync(leaseOf(containerDir), 'utf8');
  } catch {
    return false;
  }
  const [pid, start] = text.split(' ').map(Number);
  return pid > 0 && processStartTime(pid) === start;
}

/** Ends this process's lease, once the state names what it started (or the start failed). */
export function releaseShmStart(config: Pick<ContainerConfig, 'namespaces'>, containerDir: string): void {
  if (sharesShm(config)) fs.rmSync(leaseOf(containerDir), { force: true });
}

/** At a start of a shareable container: its /dev/shm tmpfs on the host (kept if still there). */
export function mountShareableShm(config: Pick<ContainerConfig, 'namespaces' | 'shmSize'>, containerDir: string): void {
  if (!sharesShm(config)) return;
  fs.writeFileSync(leaseOf(containerDir), `${process.pid} ${processStartTime(process.pid)}`);
  const dir = shmDirOf(containerDir);
  if (isMountPoint(dir)) return;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const size = config.shmSize !== undefined ? `size=${config.shmSize}` : 'size=65536k';
  execFileSync('mount', ['-t', 'tmpfs', '-o', `nosuid,nodev,noexec,mode=1777,${size}`, 'shm', dir], { stdio: 'pipe' });
}

/** Once the container is stopped: its /dev/shm mount gone from the host (nothing when absent). */
export function unmountShareableShm(config: Pick<ContainerConfig, 'namespaces'>, containerDir: string): void {
  if (!sharesShm(config)) return;
  releaseShmStart(config, containerDir);
  const dir = shmDirOf(containerDir);
  if (fs.existsSync(dir) && isMountPoint(dir)) execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
}

/** --ipc container:X: the directory of X's /dev/shm to bind, when X shares one (a host one for
 *  an X on the host's IPC namespace). */
export function donorShm(donor: Pick<ContainerConfig, 'namespaces'>, donorDir: string): string | undefined {
  if (donor.namespaces?.ipc === 'host') return '/dev/shm';
  const dir = shmDirOf(donorDir);
  return sharesShm(donor) && isMountPoint(dir) ? dir : undefined;
}
