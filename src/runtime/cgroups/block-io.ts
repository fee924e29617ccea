/**
 * linux.resources.blockIO as cgroup files: v1's blkio.* (CFQ's or BFQ's weight files, the
 * throttle files) and v2's io.weight / io.bfq.weight and io.max, with runc's conversions.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resourceError } from './common';
import type { BlockIOLimits, DeviceRate } from './types';

type Writes = Array<[string, string]>;

/** True when any block I/O limit is asked for (the blkio or io controller is then needed). */
export function hasBlockIO(b: BlockIOLimits | undefined): b is BlockIOLimits {
  if (!b) return false;
  const lists = [b.weightDevices, b.readBps, b.writeBps, b.readIops, b.writeIops];
  return b.weight !== undefined || b.leafWeight !== undefined || lists.some((l) => (l?.length ?? 0) > 0);
}

const wantsWeight = (b: BlockIOLimits) => b.weight !== undefined || (b.weightDevices ?? []).some((d) => d.weight !== undefined);
const wantsLeafWeight = (b: BlockIOLimits) => b.leafWeight !== undefined || (b.weightDevices ?? []).some((d) => d.leafWeight !== undefined);

/** The v1 weight files the kernel offers: CFQ's (gone since Linux 5.0) or BFQ's. */
interface V1WeightFiles {
  weight: string;
  weightDevice: string;
  /** Only CFQ had leaf weights. */
  leafWeight?: string;
  leafWeightDevice?: string;
}
const CFQ: V1WeightFiles = {
  weight: 'blkio.weight',
  weightDevice: 'blkio.weight_device',
  leafWeight: 'blkio.leaf_weight',
  leafWeightDevice: 'blkio.leaf_weight_device',
};
const BFQ: V1WeightFiles = { weight: 'blkio.bfq.weight', weightDevice: 'blkio.bfq.weight_device' };

/** runc looks in the container's own directory after creating it; the plan is made before any
 *  mkdir, so this looks where the same files already show: the parent cgroup when it exists, and
 *  the hierarchy root, where BFQ's weight is absent (not on root) but its statistics files say its
 *  policy is registered. */
export function v1WeightFiles(hierarchyRoot: string, parentDir: string): V1WeightFiles | undefined {
  const has = (dir: string, f: string) => fs.existsSync(path.join(dir, f));
  if (has(parentDir, CFQ.weight) || has(hierarchyRoot, CFQ.weight)) return CFQ;
  if (has(parentDir, BFQ.weight) || has(hierarchyRoot, 'blkio.bfq.io_service_bytes')) return BFQ;
  return undefined;
}

const device = (d: { major: number; minor: number }) => `${d.major}:${d.minor}`;

/** BFQ weighs a device only while it is that device's scheduler; elsewhere the kernel answers a
 *  per-device weight with EOPNOTSUPP, which names neither the device nor the cure. */
export function checkBfqDevices(b: BlockIOLimits, sysDevBlock = '/sys/dev/block'): void {
  (b.weightDevices ?? []).forEach((d, i) => {
    if (d.weight === undefined) return;
    const dev = path.join(sysDevBlock, device(d));
    // /sys/dev/block/M:m links to the device; a partition's queue is its disk's (the dir above)
    const real = fs.existsSync(dev) ? fs.realpathSync(dev) : undefined;
    const file = real && [real, path.dirname(real)].map((r) => path.join(r, 'queue', 'scheduler')).find((f) => fs.existsSync(f));
    const field = `blockIO.weightDevice[${i}]`;
    if (!file) throw resourceError(field, `there is no block device ${device(d)} on this host`);
    const scheduler = fs.readFileSync(file, 'utf8').trim();
    if (!scheduler.includes('[bfq]')) {
      throw resourceError(
        field,
        `device ${device(d)} is not scheduled by BFQ (queue/scheduler: ${scheduler}), which per-device weights need: echo bfq > ${path.join(dev, 'queue', 'scheduler')}, or leave it out`,
      );
    }
  });
}

/** v1: blkio weights and throttles; a weight without a weight file is refused, naming the files. */
export function v1BlockIOWrites(
  dir: string,
  b: BlockIOLimits,
  files: V1WeightFiles | undefined,
  hierarchy: string,
  sysDevBlock?: string,
): Writes {
  const w: Writes = [];
  const f = (name: string) => path.join(dir, name);
  if (wantsWeight(b) && !files) {
    throw resourceError(
      b.weight !== undefined ? 'blockIO.weight' : 'blockIO.weightDevice',
      `this kernel has neither blkio.weight (CFQ) nor blkio.bfq.weight (BFQ) in ${hierarchy}: block I/O weights need the BFQ scheduler (modprobe bfq); leave the weights out`,
    );
  }
  if (wantsLeafWeight(b) && !files?.leafWeight) {
    throw resourceError(
      b.leafWeight !== undefined ? 'blockIO.leafWeight' : 'blockIO.weightDevice[].leafWeight',
      `there is no blkio.leaf_weight in ${hierarchy}: only the CFQ scheduler had leaf weights (removed in Linux 5.0); leave it out`,
    );
  }
  if (files === BFQ) checkBfqDevices(b, sysDevBlock);
  if (b.weight !== undefined) w.push([f(files!.weight), String(b.weight)]);
  if (b.leafWeight !== undefined) w.push([f(files!.leafWeight!), String(b.leafWeight)]);
  for (const d of b.weightDevices ?? []) {
    if (d.weight !== undefined) w.push([f(files!.weightDevice), `${device(d)} ${d.weight}`]);
    if (d.leafWeight !== undefined) w.push([f(files!.leafWeightDevice!), `${device(d)} ${d.leafWeight}`]);
  }
  const throttle = (file: string, list: DeviceRate[] | undefined) => {
    // One rule a write: the kernel parses a single "major:minor rate" per write (0 removes it).
    for (const d of list ?? []) w.push([f(`blkio.throttle.${file}`), `${device(d)} ${d.rate}`]);
  };
  throttle('read_bps_device', b.readBps);
  throttle('write_bps_device', b.writeBps);
  throttle('read_iops_device', b.readIops);
  throttle('write_iops_device', b.writeIops);
  return w;
}

/** blkio.weight (10..1000) to io.weight (1..10000), linearly, as runc converts. */
export function blkioToIOWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/** v2: io.bfq.weight takes v1's scale as is; without BFQ, io.weight (iocost) takes the converted
 *  one. io.max's keys name what is limited; a rate of 0 means "no limit", as in v1. */
export function v2IOWrites(dir: string, b: BlockIOLimits, bfq: boolean, sysDevBlock?: string): Writes {
  const w: Writes = [];
  const f = (name: string) => path.join(dir, name);
  if (wantsLeafWeight(b)) throw resourceError('blockIO.leafWeight', 'cgroup v2 has no leaf weights; leave it out');
  if (bfq) checkBfqDevices(b, sysDevBlock);
  const weightFile = bfq ? 'io.bfq.weight' : 'io.weight';
  const scale = (weight: number) => String(bfq ? weight : blkioToIOWeight(weight));
  if (b.weight !== undefined) w.push([f(weightFile), scale(b.weight)]);
  for (const d of b.weightDevices ?? []) if (d.weight !== undefined) w.push([f(weightFile), `${device(d)} ${scale(d.weight)}`]);
  const max = (key: string, list: DeviceRate[] | undefined) => {
    for (const d of list ?? []) w.push([f('io.max'), `${device(d)} ${key}=${d.rate === 0 ? 'max' : d.rate}`]);
  };
  max('rbps', b.readBps);
  max('wbps', b.writeBps);
  max('riops', b.readIops);
  max('wiops', b.writeIops);
  return w;
}
