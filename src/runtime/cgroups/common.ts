import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../../errors';
import type { CgroupLimits } from './types';

/** Removes cgroup directories, leaf first. A cgroup whose last task is still being torn down by the
 *  kernel can report EBUSY for a moment after its process was reaped: retry briefly. */
export function removeCgroupDirs(dirs: string[]): void {
  for (const dir of dirs) {
    // A hierarchy the container did not join has no directory; checking is cheaper than an ENOENT.
    if (!fs.existsSync(dir)) continue;
    for (let attempt = 0; ; attempt++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || attempt >= 50) throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    }
  }
}

/** Reads "key value" lines (memory.events, memory.oom_control) into a map. */
export function readKeyValues(file: string): Map<string, number> {
  const out = new Map<string, number>();
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

export function readTrimmed(file: string): string {
  return fs.readFileSync(file, 'utf8').trim();
}

/** A number from a one-value cgroup file, or undefined when absent or "max". */
export function readNumber(file: string): number | undefined {
  try {
    const v = fs.readFileSync(file, 'utf8').trim();
    return v === 'max' ? undefined : Number(v);
  } catch {
    return undefined;
  }
}

export function readPids(file: string): number[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A linux.resources field this host's cgroups cannot honour: one line naming the field and why. */
export function resourceError(field: string, why: string): BerthError {
  return new BerthError('INVALID_ARGUMENT', `config.json linux.resources.${field}: ${why}`);
}

/** rdma.max, one device a write: "mlx4_0 hca_handle=2 hca_object=2000" ("max" where not given). */
export function rdmaWrites(dir: string, rdma: CgroupLimits['rdma']): Array<[string, string]> {
  return Object.entries(rdma ?? {}).map(([device, l]) => [
    path.join(dir, 'rdma.max'),
    `${device} hca_handle=${l.hcaHandles ?? 'max'} hca_object=${l.hcaObjects ?? 'max'}`,
  ]);
}
