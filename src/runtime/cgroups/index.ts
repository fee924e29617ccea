import { BerthError } from '../../errors';
import { readMountInfo, type MountInfoEntry } from './mountinfo';
import type { CgroupManager } from './types';
import { CgroupV1 } from './v1';
import { CgroupV2 } from './v2';

export type { BlockIOLimits, CgroupLimits, CgroupManager, CgroupPlan, DeviceRate } from './types';

/** Picks v2 when /sys/fs/cgroup itself is a cgroup2 mount (unified), else v1 (legacy or hybrid:
 *  a hybrid host's v2 tree at /sys/fs/cgroup/unified is used only for hugetlb, when no v1
 *  hierarchy has it: CgroupV1.hugetlbTree). */
export function detectCgroups(mounts: MountInfoEntry[] = readMountInfo(), parent = 'berth'): CgroupManager {
  const unified = mounts.find((m) => m.mountPoint === '/sys/fs/cgroup' && m.fstype === 'cgroup2');
  if (unified) return new CgroupV2(unified.mountPoint, parent);
  const v1 = new CgroupV1(mounts, parent);
  if (v1.controllers.size === 0) {
    throw new BerthError(
      'UNSUPPORTED',
      'No cgroup hierarchy is mounted at /sys/fs/cgroup; mount cgroup2 there (or the v1 controllers) and try again',
    );
  }
  return v1;
}
