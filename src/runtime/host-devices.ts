import * as fs from 'node:fs';
import * as path from 'node:path';
import { S_IFBLK, S_IFCHR } from '../native/constants';

export interface HostDevice {
  /** Path inside the rootfs, relative (dev/sda). */
  target: string;
  mode: number;
  rdev: number;
}

// Mounts of their own in every container, or per-process views: never copied from the host.
const SKIP = new Set(['pts', 'shm', 'mqueue', 'fd', '.lxc', '.udev']);

/** Every character and block device under the host's /dev, for --privileged (docker's list too). */
export function hostDevices(dir = '/dev', rel = 'dev'): HostDevice[] {
  const out: HostDevice[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (SKIP.has(e.name) && rel === 'dev') continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      out.push(...hostDevices(full, `${rel}/${e.name}`));
    } else if (e.isCharacterDevice() || e.isBlockDevice()) {
      const st = fs.lstatSync(full, { throwIfNoEntry: false });
      if (!st) continue;
      // st.rdev is already dev_t as mknod(2) takes it
      out.push({ target: `${rel}/${e.name}`, mode: (e.isCharacterDevice() ? S_IFCHR : S_IFBLK) | (st.mode & 0o7777), rdev: st.rdev });
    }
  }
  return out;
}
