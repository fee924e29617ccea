import * as fs from 'node:fs';
import { BerthError } from '../errors';
import { quote } from '../util/quote';

export type StorageDriverName = 'overlay' | 'aufs';

export interface RootfsLayout {
  /** Read-only image layers, top first. */
  lowers: string[];
  upper: string;
  work: string;
  merged: string;
}

/** The mount(2) call that assembles a container's rootfs from its layers. */
export interface RootfsMount {
  source: string;
  fstype: string;
  flags: number;
  data: string;
}

// mount(2) copies at most one page of options; beyond it the kernel truncates silently.
const MAX_MOUNT_DATA = 4095;

/** Filesystems the running kernel offers (nodev ones included). */
export function kernelFilesystems(text = fs.readFileSync('/proc/filesystems', 'utf8')): Set<string> {
  return new Set(
    text
      .split('\n')
      .map((l) => l.trim().split(/\s+/).pop()!)
      .filter(Boolean),
  );
}

function checkPath(p: string): void {
  // These characters separate options and layers in the mount data; a path holding one would be
  // read as two.
  if (/[,:=\s]/.test(p)) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Layer path ${quote(p)} contains a character (, : = or space) that cannot appear in a union mount option; use a --root without them`,
    );
  }
}

export function rootfsMount(driver: StorageDriverName, layout: RootfsLayout, filesystems = kernelFilesystems()): RootfsMount {
  for (const p of [...layout.lowers, layout.upper, layout.work]) checkPath(p);
  let mount: RootfsMount;
  if (driver === 'overlay') {
    if (!filesystems.has('overlay')) {
      throw new BerthError(
        'UNSUPPORTED',
        'The overlay storage driver needs overlayfs, which this kernel does not offer (see /proc/filesystems); load it with `modprobe overlay`',
      );
    }
    mount = {
      source: 'overlay',
      fstype: 'overlay',
      flags: 0,
      data: `lowerdir=${layout.lowers.join(':')},upperdir=${layout.upper},workdir=${layout.work}`,
    };
  } else if (driver === 'aufs') {
    if (!filesystems.has('aufs')) {
      throw new BerthError(
        'UNSUPPORTED',
        'The aufs storage driver needs a kernel with aufs, and this one has none (see /proc/filesystems); use --storage-driver overlay',
      );
    }
    // aufs keeps whiteouts as .wh. files in the writable branch, so lowers are ro+wh.
    const branches = [`${layout.upper}=rw`, ...layout.lowers.map((l) => `${l}=ro+wh`)];
    mount = { source: 'none', fstype: 'aufs', flags: 0, data: `dirs=${branches.join(':')}` };
  } else {
    throw new BerthError('INVALID_ARGUMENT', `Expected overlay or aufs for --storage-driver but received ${quote(driver)}`);
  }
  const bytes = Buffer.byteLength(mount.data);
  if (bytes > MAX_MOUNT_DATA) {
    throw new BerthError(
      'UNSUPPORTED',
      `This image has ${layout.lowers.length} layers, too many for one ${driver} mount option string (${bytes} bytes, the kernel takes ${MAX_MOUNT_DATA}); use a shorter --root path`,
    );
  }
  return mount;
}

export function parseStorageDriver(value: string): StorageDriverName {
  if (value === 'overlay' || value === 'overlay2') return 'overlay';
  if (value === 'aufs') return 'aufs';
  throw new BerthError('INVALID_ARGUMENT', `Expected overlay or aufs for --storage-driver but received ${quote(value)}`);
}
