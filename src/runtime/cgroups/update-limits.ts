/**
 * New limits in a live container's cgroup files: what `berth update` and `berth-oci update` both
 * do, through the container's cgroup manager (its plan is create's, so the same limit means the same
 * files and values).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../../errors';
import type { CgroupLimits, CgroupManager } from './types';

/**
 * Writes the limits into a running container's cgroup files, as create's plan has them. A limit of
 * a kind create gave it none of (cpu, cpuset, blkio on v1) makes its cgroup there and moves its
 * processes in. The kernel refuses some orders (v1: a memory limit above the memsw limit, or
 * memsw below it): a refused write is retried once the others are written. Device rules stay.
 */
export function applyLimits(manager: CgroupManager, id: string, limits: CgroupLimits): void {
  const plan = manager.plan(id, limits);
  const unjoined = plan.procs.filter((p) => !fs.existsSync(path.dirname(p)));
  for (const d of plan.dirs) if (!fs.existsSync(d)) fs.mkdirSync(d);
  let pending = plan.writes.filter(([file]) => !/devices\.(allow|deny)$/.test(file) && !/cgroup\.procs$/.test(file));
  for (let pass = 0; pending.length > 0; pass++) {
    const failed: Array<[string, string]> = [];
    let error: unknown;
    for (const [file, value] of pending) {
      try {
        fs.writeFileSync(file, value);
      } catch (e) {
        failed.push([file, value]);
        error = e;
      }
    }
    if (failed.length > 0 && (failed.length === pending.length || pass > 2)) {
      const [file, value] = failed[0];
      throw new BerthError('INVALID_STATE', `Cannot update ${path.basename(file)} to ${value}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    pending = failed;
  }
  for (const p of unjoined) {
    for (const pid of manager.pids(id)) fs.writeFileSync(path.join(path.dirname(p), 'cgroup.procs'), String(pid));
  }
}
