/**
 * Mount-latency rows: mount(2) alone, timed by the berth-bench addon in a throwaway mount
 * namespace (nothing is ever mounted on the host), for overlay with N synthetic layers, a bind
 * mount, aufs where the kernel has it; and fuse-overlayfs where installed, which is a program:
 * its row times the command until the filesystem is mounted (it daemonizes once it is).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { benchAddon, MS_BIND } from './addon';
import { chunkedNs, kernelHasFs, must, onPath, timedSpawn, timeLoop } from './measure';
import { layerStack, type BenchDirs } from './setup';
import type { RowPlan } from './rows';

/** mount(2) takes one page of options: the longest lowerdir list of the synthetic stacks. */
const MAX_OPTIONS = 4095;

function workDirs(d: BenchDirs, name: string): { upper: string; work: string; merged: string } {
  const base = path.join(d.dir, 'm', name);
  const out = { upper: path.join(base, 'upper'), work: path.join(base, 'work'), merged: path.join(base, 'merged') };
  for (const p of Object.values(out)) fs.mkdirSync(p, { recursive: true });
  return out;
}

export function mountRows(d: BenchDirs, layers: number[]): RowPlan[] {
  const rows: RowPlan[] = layers.map((n) => ({
    name: `overlay mount, ${n} layer${n === 1 ? '' : 's'}`,
    group: 'mount',
    measure: (budget) => {
      const w = workDirs(d, `overlay-${n}`);
      const data = `lowerdir=${layerStack(d, n).join(':')},upperdir=${w.upper},workdir=${w.work}`;
      if (data.length > MAX_OPTIONS) throw new Error(`${n} layers: the lowerdir list is longer than mount(2)'s one page of options`);
      return chunkedNs(budget, (count) => benchAddon().benchMount('overlay', 'overlay', w.merged, data, count));
    },
  }));
  rows.push({
    name: 'bind mount',
    group: 'mount',
    measure: (budget) => {
      const w = workDirs(d, 'bind');
      return chunkedNs(budget, (count) => benchAddon().benchMount('', w.upper, w.merged, '', count, MS_BIND));
    },
  });
  rows.push({
    name: 'aufs mount, 1 layer',
    group: 'mount',
    skip: kernelHasFs('aufs') ? undefined : 'the kernel has no aufs',
    measure: (budget) => {
      const w = workDirs(d, 'aufs');
      const [lower] = layerStack(d, 1);
      return chunkedNs(budget, (count) => benchAddon().benchMount('aufs', 'none', w.merged, `br=${w.upper}=rw:${lower}=ro`, count));
    },
  });
  const fuse = onPath('fuse-overlayfs');
  rows.push({
    name: 'fuse-overlayfs mount, 1 layer',
    group: 'mount',
    skip: !fuse
      ? 'fuse-overlayfs is not installed (Debian package fuse-overlayfs)'
      : !fs.existsSync('/dev/fuse')
        ? 'no /dev/fuse'
        : undefined,
    measure: (budget) => {
      const w = workDirs(d, 'fuse-overlayfs');
      const [lower] = layerStack(d, 1);
      const data = `lowerdir=${lower},upperdir=${w.upper},workdir=${w.work}`;
      return timeLoop(budget, () => {
        try {
          return timedSpawn(fuse!, ['-o', data, w.merged], d.errFile);
        } finally {
          // untimed: the daemon exits when its filesystem is unmounted
          if (fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${w.merged} `)) must('umount', [w.merged]);
        }
      });
    },
  });
  return rows;
}
