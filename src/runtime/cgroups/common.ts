import * as fs from 'node:fs';

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
