/**
 * pause and resume: the v1 freezer hierarchy (berth's own containers do not join it, so the OCI
 * runtime adds it), or cgroup.freeze of the container's v2 cgroup.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

type Location = { parent: string; name: string };

const V1_ROOT = '/sys/fs/cgroup/freezer';
const unified = () => fs.existsSync('/sys/fs/cgroup/cgroup.controllers');

function v2dir(c: Location): string {
  return path.join('/sys/fs/cgroup', c.parent, c.name);
}

export const freezer = {
  /** The v1 freezer cgroup a container joins, or undefined where there is none (v2 freezes its own). */
  dir(c: Location): string | undefined {
    // (the root cgroup of the hierarchy has no freezer.state of its own: only its children do)
    if (unified() || !fs.existsSync(path.join(V1_ROOT, 'tasks'))) return undefined;
    return path.join(V1_ROOT, c.parent, c.name);
  },
  /** Where pause and resume write, as berth-oci's native front reads it (src/oci/native-state.ts). */
  location(c: Location): { version: 1 | 2; dir: string } {
    const dir = this.dir(c);
    return dir ? { version: 1, dir } : { version: 2, dir: v2dir(c) };
  },
  joinFiles(c: Location): string[] {
    const dir = this.dir(c);
    return dir && fs.existsSync(dir) ? [path.join(dir, 'tasks')] : [];
  },
  isFrozen(c: Location): boolean {
    try {
      const dir = this.dir(c);
      if (dir) return fs.readFileSync(path.join(dir, 'freezer.state'), 'utf8').trim() !== 'THAWED';
      return fs.readFileSync(path.join(v2dir(c), 'cgroup.events'), 'utf8').includes('frozen 1');
    } catch {
      return false;
    }
  },
  /** The freeze has taken hold: v1's freezer.state says FROZEN (not FREEZING), v2's cgroup.events
   *  frozen 1 (cgroup.freeze alone only asks). */
  settled(c: Location): boolean {
    try {
      const dir = this.dir(c);
      if (dir) return fs.readFileSync(path.join(dir, 'freezer.state'), 'utf8').trim() === 'FROZEN';
      return fs.readFileSync(path.join(v2dir(c), 'cgroup.events'), 'utf8').includes('frozen 1');
    } catch {
      return false;
    }
  },
  freeze(c: Location): void {
    const dir = this.dir(c);
    if (dir) fs.writeFileSync(path.join(dir, 'freezer.state'), 'FROZEN');
    else fs.writeFileSync(path.join(v2dir(c), 'cgroup.freeze'), '1');
  },
  thaw(c: Location): void {
    const dir = this.dir(c);
    if (dir) fs.writeFileSync(path.join(dir, 'freezer.state'), 'THAWED');
    else fs.writeFileSync(path.join(v2dir(c), 'cgroup.freeze'), '0');
  },
  remove(c: Location): void {
    const dir = this.dir(c);
    if (dir && fs.existsSync(dir)) fs.rmdirSync(dir);
  },
};
