/**
 * GET /system/df (`docker system df`): the images with the containers using them and the bytes
 * they share, the containers with the size of their write layer, the volumes with their size and
 * users, and no build cache (berth builds nothing). `type=` limits it to some of them, as docker.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ContainerInfo } from '../../index';
import { volumeUsers } from '../../runtime/container-volumes';
import { listEntry } from '../docker/container-json';
import { imageSummary, layerUsage } from '../docker/image-json';
import { sendJson, type Ctx } from '../http/context';
import { badRequest } from '../http/errors';
import { route } from '../http/router';

const TYPES = ['container', 'image', 'volume', 'build-cache'];

/**
 * Bytes of what a directory holds, as docker's directory.Size counts them: every entry but
 * directories, a hard-linked file once, symlinks not followed. Asynchronous, so that a big volume
 * does not stop the service's other clients; what vanishes during the walk counts as nothing.
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
        const st = await fs.promises.lstat(p, { bigint: false });
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

const sameId = (a: string, b: string) => a.replace(/^sha256:/, '') === b.replace(/^sha256:/, '');

async function diskUsage(ctx: Ctx): Promise<void> {
  const types = ctx.query.getAll('type');
  for (const t of types) if (!TYPES.includes(t)) throw badRequest(`invalid type: ${t}`);
  const wants = (t: string) => types.length === 0 || types.includes(t);
  const containers: ContainerInfo[] = wants('image') || wants('container') || wants('volume') ? ctx.berth.ps({ all: true }) : [];
  const images = wants('image') || wants('container') ? ctx.berth.listImages() : [];
  const body: Record<string, unknown> = {};

  if (wants('image')) {
    const { shared, layersSize } = layerUsage(images, (c) => ctx.berth.images.layerSize(c));
    body.LayersSize = layersSize;
    body.Images = images.map((i) =>
      imageSummary(i, { containers: containers.filter((c) => sameId(c.config.imageId, i.id)).length, sharedSize: shared.get(i.id) ?? 0 }),
    );
  }
  if (wants('container')) {
    body.Containers = await Promise.all(
      containers.map(async (c) => {
        const sizeRw = await directorySize(path.join(ctx.berth.runtime.store.containerDir(c.config.id), 'upper'));
        const imageSize = images.find((i) => sameId(i.id, c.config.imageId))?.size ?? 0;
        return { ...listEntry(c), SizeRw: sizeRw, SizeRootFs: sizeRw + imageSize };
      }),
    );
  }
  if (wants('volume')) {
    body.Volumes = await Promise.all(
      ctx.berth.listVolumes().map(async (v) => ({
        ...v,
        UsageData: {
          Size: await directorySize(v.Mountpoint),
          RefCount: volumeUsers(containers, v.Name).length,
        },
      })),
    );
  }
  if (wants('build-cache')) body.BuildCache = [];
  sendJson(ctx, 200, body);
}

export const SYSTEM_DF_ROUTES = [route('GET', '/system/df', diskUsage)];
