import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDigest } from '../digest';
import type { StoredImage } from './records';
import { Repositories } from './repositories';
import type { StoreParts } from './store-parts';
import type { PruneResult } from '../types';

const HEX = /^[a-f0-9]{64}$/;

/**
 * `docker image prune`: images without a name that no container uses, then every unpacked layer and blob
 * that no remaining image references, whatever left it behind (an `rmi -f` of an image in use, whose
 * container is gone since; a crash between publishing a layer and its image). Runs under the store lock,
 * so no pull, load or commit is between publishing content and recording the image that uses it.
 */
export function pruneImages(parts: StoreParts, inUse: (imageId: string) => boolean): PruneResult {
  return parts.mutateSync(() => {
    const names = parts.repositories.read();
    const result: PruneResult = { images: [], layers: [], blobs: [], reclaimed: 0 };
    for (const image of parts.records.all()) {
      if (Repositories.namesOf(names, image.id).length > 0 || inUse(image.id)) continue;
      parts.records.remove(image.id);
      result.images.push(image.id);
    }
    const remaining = parts.records.all();
    const usedLayers = new Set(remaining.flatMap((i) => i.chainIds));
    const usedBlobs = new Set(remaining.flatMap((i) => blobsOf(parts, i)));
    for (const hex of hexEntries(parts.layers.dir)) {
      const chainId = `sha256:${hex}`;
      if (usedLayers.has(chainId)) continue;
      result.reclaimed += parts.layers.get(chainId)?.size ?? 0;
      parts.layers.remove(chainId);
      result.layers.push(chainId);
    }
    for (const hex of hexEntries(parts.blobs.dir)) {
      const digest = `sha256:${hex}`;
      if (usedBlobs.has(digest)) continue;
      result.reclaimed += fs.statSync(path.join(parts.blobs.dir, hex), { throwIfNoEntry: false })?.size ?? 0;
      parts.blobs.remove(digest);
      result.blobs.push(digest);
    }
    parts.layers.links.removeDangling();
    return result;
  });
}

/** Config, manifest and layer blobs; the diff IDs too, which are the layer blobs of imported and committed images. */
function blobsOf(parts: StoreParts, image: StoredImage): string[] {
  const out = [image.id, image.manifestDigest, ...image.config.rootfs.diff_ids];
  try {
    const manifest = JSON.parse(parts.blobs.read(image.manifestDigest).toString('utf8')) as { layers?: Array<{ digest?: string }> };
    for (const l of manifest.layers ?? []) if (typeof l.digest === 'string') out.push(l.digest);
  } catch {
    // no manifest blob: the diff IDs are all there is
  }
  return out.filter(isDigest);
}

function hexEntries(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((f) => HEX.test(f));
  } catch {
    return [];
  }
}
