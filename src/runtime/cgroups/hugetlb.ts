/**
 * linux.resources.hugepageLimits as cgroup files, and where the hugetlb controller lives: a v1
 * hierarchy, a pure v2 tree, or, on a hybrid host, the cgroup2 tree at /sys/fs/cgroup/unified
 * (systemd leaves hugetlb there when no v1 hierarchy claims it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resourceError } from './common';
import type { MountInfoEntry } from './mountinfo';

const KB = 1024;
const UNITS: Record<string, number> = { KB, MB: KB ** 2, GB: KB ** 3 };

/** "2MB" -> bytes; the OCI spelling (<size><unit-prefix>B), KB to GB; undefined if malformed. */
export function pageSizeBytes(pageSize: string): number | undefined {
  const m = /^(\d+)(KB|MB|GB)$/i.exec(pageSize);
  return m ? Number(m[1]) * UNITS[m[2].toUpperCase()] : undefined;
}

/** The kernel's name of a page size in hugetlb.<name>.* files: the largest unit that divides it
 *  (2048KB is "2MB"), as mm/hugetlb_cgroup.c formats it. */
export function pageSizeName(bytes: number): string {
  if (bytes % UNITS.GB === 0) return `${bytes / UNITS.GB}GB`;
  if (bytes % UNITS.MB === 0) return `${bytes / UNITS.MB}MB`;
  return `${bytes / KB}KB`;
}

/** The huge page sizes this kernel offers (/sys/kernel/mm/hugepages/hugepages-<N>kB), by name. */
export function hostPageSizes(dir = '/sys/kernel/mm/hugepages'): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const m = /^hugepages-(\d+)kB$/.exec(n);
    return m ? [pageSizeName(Number(m[1]) * KB)] : [];
  });
}

/** Refuses a page size the kernel does not offer (its file would not exist). */
export function checkPageSizes(pages: Array<{ pageSize: string }>, sizesDir: string | undefined): void {
  const have = hostPageSizes(sizesDir);
  pages.forEach((p, i) => {
    if (!have.includes(p.pageSize)) {
      throw resourceError(
        `hugepageLimits[${i}].pageSize`,
        `this kernel has no ${p.pageSize} huge pages (it offers ${have.length ? have.join(', ') : 'none'})`,
      );
    }
  });
}

/** v1: hugetlb.<size>.limit_in_bytes; v2: hugetlb.<size>.max. The reservation limit (.rsvd.*,
 *  Linux 5.7, older than berth's minimum) gets the same value, as runc writes it: otherwise pages
 *  reserved by mmap but not yet faulted escape the limit. */
export function hugetlbWrites(dir: string, pages: Array<{ pageSize: string; limit: number }>, version: 1 | 2): Array<[string, string]> {
  const suffix = version === 1 ? 'limit_in_bytes' : 'max';
  return pages.flatMap(({ pageSize, limit }): Array<[string, string]> => [
    [path.join(dir, `hugetlb.${pageSize}.${suffix}`), String(limit)],
    [path.join(dir, `hugetlb.${pageSize}.rsvd.${suffix}`), String(limit)],
  ]);
}

const readControllers = (mountPoint: string): string[] => {
  try {
    return fs.readFileSync(path.join(mountPoint, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  } catch {
    return [];
  }
};

/** On a v1 or hybrid host: the mount point of a cgroup2 tree whose root offers hugetlb (the
 *  hybrid layout's /sys/fs/cgroup/unified), or undefined. A tree mounted from below its root (a
 *  container's view) is not one berth may create cgroups at the top of. */
export function hybridHugetlbTree(mounts: MountInfoEntry[], controllersOf = readControllers): string | undefined {
  return mounts.find((m) => m.fstype === 'cgroup2' && m.root === '/' && controllersOf(m.mountPoint).includes('hugetlb'))?.mountPoint;
}
