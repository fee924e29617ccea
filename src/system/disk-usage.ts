/**
 * `docker system df`: what images, containers' write layers and volumes take on disk, and what a
 * prune could give back. Shared by `berth system df` and Berth.systemDf().
 */
import { sameImageId } from '../image/digest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Berth } from '../index';
import type { ImageRecord } from '../image/types';
import { isRunning } from '../runtime/container-predicates';
import { volumeUsers } from '../runtime/container-volumes';
import type { ContainerInfo } from '../runtime/types';
import type { VolumeInfo } from '../volume/berth-api';

/**
 * Bytes of what a directory holds, as docker's directory.Size counts them: every entry but
 * directories, a hard-linked file once, symlinks not followed; what vanishes meanwhile counts as
 * nothing. Asynchronous so that a big volume does not stall the service's other clients.
 */
export async function directorySize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        await walk(p);
        continue;
      }
      try {
        const st = await fs.promises.lstat(p);
        if (st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          if (seen.has(key)) continue;
          seen.add(key);
        }
        total += st.size;
      } catch {
        // removed meanwhile
      }
    }
  };
  await walk(dir);
  return total;
}

export interface UsageRow {
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

export interface DiskUsage {
  images: UsageRow & { items: Array<{ image: ImageRecord; containers: number; size: number; sharedSize: number }> };
  containers: UsageRow & { items: Array<{ container: ContainerInfo; sizeRw: number }> };
  volumes: UsageRow & { items: Array<{ name: string; links: number; size: number; volume: VolumeInfo }> };
  buildCache: UsageRow;
}

/** The disk usage of one berth root. Layers shared between images count once. */
export async function diskUsage(berth: Berth): Promise<DiskUsage> {
  const containers = berth.ps({ all: true });
  const images = berth.listImages();
  const layerBytes = new Map<string, number>();
  const users = new Map<string, number>();
  for (const i of images)
    for (const c of new Set(i.chainIds)) {
      users.set(c, (users.get(c) ?? 0) + 1);
      if (!layerBytes.has(c)) layerBytes.set(c, berth.images.layerSize(c) ?? 0);
    }
  const usedImages = images.filter((i) => containers.some((c) => sameImageId(c.config.imageId, i.id)));
  const usedLayers = new Set(usedImages.flatMap((i) => i.chainIds));
  const imageItems = images.map((image) => {
    const chain = [...new Set(image.chainIds)];
    return {
      image,
      containers: containers.filter((c) => sameImageId(c.config.imageId, image.id)).length,
      size: chain.reduce((s, c) => s + (layerBytes.get(c) ?? 0), 0),
      sharedSize: chain.reduce((s, c) => s + ((users.get(c) ?? 0) > 1 ? (layerBytes.get(c) ?? 0) : 0), 0),
    };
  });
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const allLayers = [...layerBytes.entries()];

  const containerItems = await Promise.all(
    containers.map(async (container) => ({
      container,
      sizeRw: await directorySize(path.join(berth.runtime.store.containerDir(container.config.id), 'upper')),
    })),
  );
  const volumeItems = await Promise.all(
    berth.listVolumes().map(async (v) => ({
      name: v.Name,
      links: volumeUsers(containers, v.Name).length,
      size: await directorySize(v.Mountpoint),
      volume: v,
    })),
  );
  return {
    images: {
      total: images.length,
      active: usedImages.length,
      size: sum(allLayers.map(([, b]) => b)),
      reclaimable: sum(allLayers.filter(([c]) => !usedLayers.has(c)).map(([, b]) => b)),
      items: imageItems,
    },
    containers: {
      total: containers.length,
      active: containers.filter((c) => isRunning(c.state)).length,
      size: sum(containerItems.map((c) => c.sizeRw)),
      reclaimable: sum(containerItems.filter((c) => !isRunning(c.container.state)).map((c) => c.sizeRw)),
      items: containerItems,
    },
    volumes: {
      total: volumeItems.length,
      active: volumeItems.filter((v) => v.links > 0).length,
      size: sum(volumeItems.map((v) => v.size)),
      reclaimable: sum(volumeItems.filter((v) => v.links === 0).map((v) => v.size)),
      items: volumeItems,
    },
    buildCache: { total: 0, active: 0, size: 0, reclaimable: 0 },
  };
}
