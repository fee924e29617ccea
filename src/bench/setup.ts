/**
 * What the rows run on, made once per `berth bench` in a temp dir and removed afterwards: the
 * image's rootfs as an overlay (the floor row mounts the same layers in its own namespace; the OCI
 * bundle's rootfs is that overlay mounted here), synthetic layer stacks for the overlay rows, and
 * one state root per OCI runtime. Nothing is created outside the temp dir except one cgroup tree
 * named for this process, which teardown removes in every hierarchy.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { must, mountsUnder, removeCgroupTree } from './measure';

export interface BenchDirs {
  /** The temp dir everything lives under. */
  readonly dir: string;
  /** overlay mount data of the image: its layers, an upper and a work dir of our own. */
  readonly imageOverlay: string;
  /** Where the floor's child mounts it (in its own mount namespace). */
  readonly floorMerged: string;
  /** The command the start rows run: /bin/true of the image (as the container sees it). */
  readonly truePath: string;
  /** The cgroup every OCI runtime's containers go under: /<cgroupParent>/bench. */
  readonly cgroupParent: string;
  readonly errFile: string;
  /** Host mounts made here, removed by teardown (the bundle's rootfs). */
  readonly mounts: string[];
}

/** layerDirs: the image's layers, top first (ImageStore.shortLayerDirs: short enough for one page). */
export function setup(layerDirs: string[]): BenchDirs {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-'));
  const sub = (...p: string[]) => {
    const d = path.join(dir, ...p);
    fs.mkdirSync(d, { recursive: true });
    return d;
  };
  const truePath = ['/bin/true', '/usr/bin/true'].find((p) => layerDirs.some((l) => exists(path.join(l, p))));
  if (!truePath) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error('the image has no /bin/true or /usr/bin/true; use a busybox-like image (--image)');
  }
  const overlay = (name: string) => `lowerdir=${layerDirs.join(':')},upperdir=${sub(name, 'upper')},workdir=${sub(name, 'work')}`;
  return {
    dir,
    imageOverlay: overlay('floor'),
    floorMerged: sub('floor', 'merged'),
    truePath,
    cgroupParent: `berth-bench-${process.pid}`,
    errFile: path.join(dir, 'stderr'),
    mounts: [],
  };
}

/** The image's rootfs mounted (overlay, writable: runtimes create /proc, /dev in it) at dir/bundle/rootfs. */
export function mountBundleRootfs(d: BenchDirs, layerDirs: string[]): string {
  const bundle = path.join(d.dir, 'bundle');
  const rootfs = path.join(bundle, 'rootfs');
  for (const p of [rootfs, path.join(bundle, 'upper'), path.join(bundle, 'work')]) fs.mkdirSync(p, { recursive: true });
  must('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${layerDirs.join(':')},upperdir=${bundle}/upper,workdir=${bundle}/work`,
    rootfs,
  ]);
  d.mounts.push(rootfs);
  return bundle;
}

/** Synthetic layers dir/l/0..count-1, each one small file of its own; top first as overlay wants them. */
export function layerStack(d: BenchDirs, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const l = path.join(d.dir, 'l', String(i)); // short: 100 paths must fit mount(2)'s one page of options
    if (!exists(l)) {
      fs.mkdirSync(path.join(l, 'etc'), { recursive: true });
      fs.writeFileSync(path.join(l, 'etc', `layer-${i}`), `${i}\n`);
    }
    out.push(l);
  }
  return out.reverse();
}

/** Unmounts what setup mounted, removes the cgroup tree and the temp dir; problems, as lines. */
export function teardown(d: BenchDirs): string[] {
  const problems: string[] = [];
  for (const m of d.mounts.reverse()) {
    try {
      must('umount', [m]);
    } catch {
      try {
        must('umount', ['-l', m]);
      } catch (e) {
        problems.push(`could not unmount ${m}: ${(e as Error).message}`);
      }
    }
  }
  const left = removeCgroupTree(d.cgroupParent);
  if (left.length > 0) problems.push(`cgroups not removable: ${left.join(' ')}`);
  const mounted = mountsUnder(d.dir);
  if (mounted.length > 0) problems.push(`not removing ${d.dir}, still mounted: ${mounted.join(' ')}`);
  else fs.rmSync(d.dir, { recursive: true, force: true });
  return problems;
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
