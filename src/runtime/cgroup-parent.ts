/**
 * docker's --cgroup-parent: the cgroup a container's own goes below, instead of the runtime's
 * parent (berth's global --cgroup-parent, default "berth"). Paths are cgroupfs paths from each
 * hierarchy's root, as docker takes them with its cgroupfs driver.
 */
import { BerthError } from '../errors';
import { quote } from '../util/quote';
import { detectCgroups, type CgroupManager } from './cgroups';

/** "/apps/web" or "apps/web" -> "apps/web"; refused: "..", systemd slices, odd names. */
export function parseCgroupParent(value: string): string {
  if (value.includes(':'))
    throw new BerthError(
      'INVALID_ARGUMENT',
      `--cgroup-parent ${quote(value)} is a systemd slice path; berth drives cgroupfs: give a path like /apps/web`,
    );
  const parts = value.split('/').filter(Boolean);
  if (parts.length === 0 || parts.some((p) => p === '.' || p === '..' || !/^[a-zA-Z0-9_.@-]+$/.test(p)))
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Expected a cgroup path of names (letters, digits, _ . @ -) separated by / for --cgroup-parent but received ${quote(value)}`,
    );
  return parts.join('/');
}

const managers = new Map<string, CgroupManager>();

/** The manager of containers below `parent` (one per parent, as the runtime's own is one). */
export function cgroupsBelow(parent: string): CgroupManager {
  let m = managers.get(parent);
  if (!m) managers.set(parent, (m = detectCgroups(undefined, parent)));
  return m;
}
