/**
 * `docker system prune`: stopped containers, then the networks no container uses, then dangling
 * images (every unused one with `all`), then, with `volumes`, unused anonymous volumes. In that
 * order: each step frees what the next one checks for use.
 */
import * as path from 'node:path';
import type { Berth } from '../index';
import { familiar } from '../image/reference';
import { isRunning } from '../runtime/container-predicates';
import { safely } from '../util/safely';
import { directorySize } from './disk-usage';

export interface SystemPruneOptions {
  /** Every image no container uses, not only unnamed ones. */
  all?: boolean;
  /** Unused anonymous volumes too. */
  volumes?: boolean;
}

export interface SystemPruneResult {
  containers: string[];
  networks: string[];
  images: { untagged: string[]; deleted: string[] };
  volumes: string[];
  /** Bytes freed: write layers, image layers, volume contents. */
  reclaimed: number;
}

/** The network berth makes on first use, as docker's `bridge`: never pruned. */
const DEFAULT_NETWORK = 'berth';

export async function systemPrune(berth: Berth, opts: SystemPruneOptions = {}): Promise<SystemPruneResult> {
  const result: SystemPruneResult = { containers: [], networks: [], images: { untagged: [], deleted: [] }, volumes: [], reclaimed: 0 };

  for (const c of berth.ps({ all: true })) {
    if (isRunning(c.state)) continue;
    const size = await directorySize(path.join(berth.runtime.store.containerDir(c.config.id), 'upper'));
    try {
      await berth.remove(c.config.id);
    } catch {
      continue; // started or removed meanwhile
    }
    result.containers.push(c.config.id);
    result.reclaimed += size;
  }

  const containers = berth.ps({ all: true });
  const used = new Set(containers.flatMap((c) => [c.config.network?.name ?? '', ...(c.config.connected ?? []).map((n) => n.name)]));
  for (const n of berth.listNetworks()) {
    if (n.name === DEFAULT_NETWORK || used.has(n.name)) continue;
    if (safely(() => berth.removeNetwork(n.name))) result.networks.push(n.name);
  }

  if (opts.all) {
    const layerBytes = new Map<string, number>();
    for (const i of berth.listImages()) for (const c of i.chainIds) layerBytes.set(c, berth.images.layerSize(c) ?? 0);
    const inUse = berth.runtime.imagesInUse();
    for (const image of berth.listImages()) {
      if (inUse.has(image.id)) continue;
      const removed = safely(() => berth.removeImage(image.id, { force: true }));
      if (!removed) continue;
      result.images.untagged.push(...removed.untagged.map((n) => safely(() => familiar(n)) ?? n));
      result.images.deleted.push(...removed.deleted);
      for (const d of removed.deleted) result.reclaimed += layerBytes.get(d) ?? 0;
    }
  }
  const pruned = berth.pruneImages();
  result.images.deleted.push(...pruned.images, ...pruned.layers.filter((l) => !result.images.deleted.includes(l)));
  result.reclaimed += pruned.reclaimed;

  if (opts.volumes) {
    const v = berth.pruneVolumes();
    result.volumes.push(...v.removed);
    result.reclaimed += v.spaceReclaimed;
  }
  return result;
}
