/**
 * docker's --storage-opt: only size=SIZE, and only where the storage can enforce it. docker's
 * overlay2 limits a container's writable layer with an xfs project quota, so it takes size= only
 * on xfs mounted with pquota (prjquota); elsewhere it refuses the flag, and so does berth, naming
 * what the host lacks. On xfs with pquota berth refuses it as well: it sets no project quotas yet.
 */
import * as fs from 'node:fs';
import { BerthError, invalid } from '../errors';
import { quote } from '../util/quote';
import { parseBytes } from './limits';
import type { StorageDriverName } from './rootfs';

const XFS_SUPER_MAGIC = 0x58465342;

/** The shape of every --storage-opt (the API boundary's check): size=SIZE above 0. */
export function parseStorageOpts(values: readonly string[] | undefined): number | undefined {
  let size: number | undefined;
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq).toLowerCase();
    if (key !== 'size' || eq < 0)
      throw new BerthError('INVALID_ARGUMENT', `Unknown --storage-opt ${quote(v)}: the overlay driver takes only size=SIZE`);
    size = parseBytes(v.slice(eq + 1), '--storage-opt size');
    if (size <= 0) throw invalid('--storage-opt', 'size=SIZE above 0, like size=10g', v);
  }
  return size;
}

/** The mount (mountinfo line) holding `p`: the longest mount point that is a prefix of it. */
function mountOf(p: string): { point: string; fstype: string; options: string } | undefined {
  let best: { point: string; fstype: string; options: string } | undefined;
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 0) continue;
    const point = f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (!(p === point || p.startsWith(point === '/' ? '/' : `${point}/`))) continue;
    if (!best || point.length >= best.point.length) best = { point, fstype: f[sep + 1], options: `${f[5]},${f[sep + 3]}` };
  }
  return best;
}

/** Refuses --storage-opt size= where the container's storage (where its layers are) cannot
 *  enforce it; what is refused is said in one line. */
export function checkStorageOpts(values: readonly string[] | undefined, driver: StorageDriverName, layerDir: string | undefined): void {
  if (parseStorageOpts(values) === undefined) return;
  if (driver !== 'overlay')
    throw new BerthError('INVALID_ARGUMENT', `--storage-opt size= is not supported by the ${driver} storage driver; drop it`);
  const dir = layerDir ?? '/';
  const isXfs = fs.statfsSync(dir).type === XFS_SUPER_MAGIC;
  const m = mountOf(fs.realpathSync(dir));
  const fstype = m?.fstype ?? 'unknown';
  if (!isXfs)
    throw new BerthError(
      'INVALID_ARGUMENT',
      `--storage-opt size= needs the overlay storage on xfs mounted with pquota, but berth's storage (${m?.point ?? dir}) is ${fstype}; drop it`,
    );
  if (!/(^|,)(pquota|prjquota)(,|$)/.test(m?.options ?? ''))
    throw new BerthError(
      'INVALID_ARGUMENT',
      `--storage-opt size= needs xfs mounted with pquota, but ${m?.point ?? dir} is mounted without it; remount with -o pquota or drop the flag`,
    );
  throw new BerthError('UNSUPPORTED', '--storage-opt size= is not supported by berth yet (it sets no xfs project quotas); drop it');
}
