/**
 * GET /system/df (`docker system df`): src/system/disk-usage.ts's figures (the one computation
 * `berth system df` prints too) in docker's shape: the images with the containers using them and
 * the bytes they share, the containers with the size of their write layer, the volumes with their
 * size and users, and no build cache (berth builds nothing). `type=` limits the answer, as docker.
 */
import { sameImageId } from '../../image/digest';
import { diskUsage } from '../../system/disk-usage';
import { listEntry } from '../docker/container-json';
import { imageSummary } from '../docker/image-json';
import { sendJson, type Ctx } from '../http/context';
import { badRequest } from '../http/errors';
import { route } from '../http/router';

const TYPES = ['container', 'image', 'volume', 'build-cache'];

async function systemDf(ctx: Ctx): Promise<void> {
  const types = ctx.query.getAll('type');
  for (const t of types) if (!TYPES.includes(t)) throw badRequest(`invalid type: ${t}`);
  const wants = (t: string) => types.length === 0 || types.includes(t);
  const usage = await diskUsage(ctx.berth);
  const body: Record<string, unknown> = {};
  if (wants('image')) {
    body.LayersSize = usage.images.size;
    body.Images = usage.images.items.map((i) => imageSummary(i.image, { containers: i.containers, sharedSize: i.sharedSize }));
  }
  if (wants('container')) {
    const imageSize = (id: string) => usage.images.items.find((i) => sameImageId(i.image.id, id))?.image.size ?? 0;
    body.Containers = usage.containers.items.map(({ container, sizeRw }) => ({
      ...listEntry(container),
      SizeRw: sizeRw,
      SizeRootFs: sizeRw + imageSize(container.config.imageId),
    }));
  }
  if (wants('volume')) {
    body.Volumes = usage.volumes.items.map((v) => ({ ...v.volume, UsageData: { Size: v.size, RefCount: v.links } }));
  }
  if (wants('build-cache')) body.BuildCache = [];
  sendJson(ctx, 200, body);
}

export const SYSTEM_DF_ROUTES = [route('GET', '/system/df', systemDf)];
