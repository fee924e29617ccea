/** /images/...: list, inspect, history, tag, remove with docker's conflicts, save (get), load,
 *  prune; create (pull, import) is image-create.ts's. Search and build answer 501. */
import { sameImageId } from '../../image/digest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../../errors';
import type { ContainerInfo, ImageRecord } from '../../index';
import { nameKey, shortId } from '../../image/store/lookup';
import { makeStagingDir } from '../../image/store/staging';
import { isRunning } from '../../runtime/container-predicates';
import {
  familiarName,
  historyJson,
  imageInspectJson,
  imageMatches,
  imageSummary,
  layerUsage,
  LIST_FILTERS,
  parseImageFilters,
  PRUNE_FILTERS,
  unixSeconds,
  type ImageFilters,
} from '../docker/image-json';
import { boolQuery, filtersQuery, sendEmpty, sendJson, sendStream, type Ctx } from '../http/context';
import { badRequest, conflict, notFound, notImplemented } from '../http/errors';
import { route } from '../http/router';
import { createImage, JsonLines, withBodyFile } from './image-create';
import { parseTimeQuery } from './time-query';

/** An image by name, ID or ID prefix, with docker's 404 wording (`No such image: busybox:latest`). */
export function imageOf(ctx: Ctx, ref: string): ImageRecord {
  try {
    return ctx.berth.images.resolve(ref);
  } catch (e) {
    if (e instanceof BerthError && e.code === 'IMAGE_NOT_FOUND') {
      const name = nameKey(ref);
      throw notFound(`No such image: ${name ? familiarName(name) : ref}`);
    }
    throw e;
  }
}

/** The containers, running or not, made from the image. */
export function containersOf(ctx: Ctx, imageId: string): ContainerInfo[] {
  return ctx.berth.ps({ all: true }).filter((c) => sameImageId(c.config.imageId, imageId));
}

/** The filters of a list or a prune; before/since name images, until is a time. */
function imageFilters(ctx: Ctx, accepted: string[]): ImageFilters {
  return parseImageFilters(filtersQuery(ctx), accepted, {
    imageCreated: (ref) => {
      const image = imageOf(ctx, ref);
      return unixSeconds(image.config.created ?? image.created);
    },
    time: (value) => {
      const t = parseTimeQuery(value);
      if (t === undefined) throw badRequest(`invalid filter 'until=${value}'`);
      return t;
    },
  });
}

function list(ctx: Ctx): void {
  const filters = imageFilters(ctx, LIST_FILTERS);
  // berth has no intermediate images: all=true shows what all=false shows
  const all = ctx.berth.listImages();
  const images = all.filter((i) => imageMatches(i, filters));
  // shared-size=1 (API 1.42): what each image shares with the others, which costs a look at every layer
  const shared = boolQuery(ctx, 'shared-size') ? layerUsage(all, (c) => ctx.berth.images.layerSize(c)).shared : undefined;
  sendJson(
    ctx,
    200,
    images.map((i) => imageSummary(i, shared ? { sharedSize: shared.get(i.id) ?? 0 } : {})),
  );
}

function inspect(ctx: Ctx): void {
  const image = imageOf(ctx, ctx.params.name);
  let dirs: string[] = [];
  try {
    dirs = ctx.berth.images.layerDirs(image);
  } catch {
    dirs = []; // a layer missing from the store: inspect still shows the rest
  }
  sendJson(ctx, 200, imageInspectJson(ctx.berth.inspectImage(image.id), dirs));
}

function history(ctx: Ctx): void {
  const image = imageOf(ctx, ctx.params.name);
  sendJson(ctx, 200, historyJson(ctx.berth.imageHistory(image.id)));
}

function tag(ctx: Ctx): void {
  const repo = ctx.query.get('repo');
  if (!repo) throw badRequest('repo is required: the name to tag the image with');
  const image = imageOf(ctx, ctx.params.name);
  const newRef = `${repo}:${ctx.query.get('tag') || 'latest'}`;
  ctx.berth.tagImage(image.id, newRef);
  sendEmpty(ctx, 201);
}

type DeleteItem = { Untagged: string } | { Deleted: string };

/**
 * DELETE /images/{name}: docker's rules and words (daemon/images/image_delete.go). A name is
 * untagged; the image goes with its last name unless a container uses it (then the name stays,
 * unless forced). By ID, every name goes with it, refused while a running container uses it and,
 * without force, while a stopped one does or names from several repositories point at it.
 */
async function remove(ctx: Ctx): Promise<void> {
  const ref = ctx.params.name;
  const force = boolQuery(ctx, 'force');
  const image = imageOf(ctx, ref);
  const users = containersOf(ctx, image.id);
  const byName = nameKey(ref);
  const named = byName !== undefined && image.names.includes(byName);
  const id = shortId(image.id);
  if (named) {
    if (image.names.length === 1 && users.length > 0 && !force)
      throw conflict(
        `conflict: unable to remove repository reference "${ref}" (must force) - container ${users[0].config.id.slice(0, 12)} is using its referenced image ${id}`,
      );
  } else {
    const running = users.find((c) => isRunning(c.state));
    if (running)
      throw conflict(
        `conflict: unable to delete ${id} (cannot be forced) - image is being used by running container ${running.config.id.slice(0, 12)}`,
      );
    const repositories = new Set(image.names.map((n) => n.replace(/:[^:/]*$/, '')));
    if (!force && repositories.size > 1)
      throw conflict(`conflict: unable to delete ${id} (must be forced) - image is referenced in multiple repositories`);
    if (!force && users.length > 0)
      throw conflict(
        `conflict: unable to delete ${id} (must be forced) - image is being used by stopped container ${users[0].config.id.slice(0, 12)}`,
      );
  }
  // the checks above are docker's; berth's own (several names, in use) would refuse what docker allows
  const result = ctx.berth.removeImage(named ? (byName as string) : image.id, { force: !named || force || image.names.length > 1 });
  sendJson(ctx, 200, deleteItems(ctx, image, result));
}

/** The Untagged and Deleted entries of a removal, with the events docker sends for them. */
function deleteItems(ctx: Ctx, image: ImageRecord, result: { untagged: string[]; deleted: string[] }): DeleteItem[] {
  const items: DeleteItem[] = [];
  for (const n of result.untagged) {
    items.push({ Untagged: familiarName(n) });
  }
  if (result.deleted.includes(image.id)) {
    // the repo digests go with the image's record: docker lists them as untagged too
    for (const d of image.repoDigests ?? []) items.push({ Untagged: familiarName(d) });
  }
  for (const d of result.deleted) items.push({ Deleted: d });
  return items;
}

/** The files of an image's blobs (config, manifest, compressed layers) with their sizes: those
 *  gone after a removal are what it freed besides the unpacked layers. */
function blobSizes(ctx: Ctx, image: ImageRecord): Map<string, number> {
  const digests = new Set([image.id, image.manifestDigest, ...ctx.berth.inspectImage(image.id).layers.map((l) => l.digest)]);
  const out = new Map<string, number>();
  for (const d of digests) {
    const file = path.join(ctx.berth.images.root, 'blobs', 'sha256', d.replace(/^sha256:/, ''));
    const size = fs.statSync(file, { throwIfNoEntry: false })?.size;
    if (size !== undefined) out.set(file, size);
  }
  return out;
}

/**
 * POST /images/prune: by default the images without a name (dangling=true); dangling=false, what
 * `docker image prune -a` sends, every image no container uses. label, label! and until narrow it.
 */
function prune(ctx: Ctx): void {
  const filters = imageFilters(ctx, PRUNE_FILTERS);
  const danglingOnly = filters.dangling ?? true;
  const used = new Set(ctx.berth.ps({ all: true }).map((c) => c.config.imageId.replace(/^sha256:/, '')));
  const chosen = ctx.berth
    .listImages()
    .filter((i) => !used.has(i.id.replace(/^sha256:/, '')))
    .filter((i) => imageMatches(i, { ...filters, dangling: danglingOnly ? true : undefined }));
  const items: DeleteItem[] = [];
  let reclaimed = 0;
  for (const image of chosen) {
    const layers = new Map(image.chainIds.map((c) => [c, ctx.berth.images.layerSize(c) ?? 0]));
    const blobs = blobSizes(ctx, image);
    let result;
    try {
      result = ctx.berth.removeImage(image.id, { force: true });
    } catch (e) {
      if (e instanceof BerthError && (e.code === 'IMAGE_NOT_FOUND' || e.code === 'IMAGE_IN_USE')) continue; // gone or used meanwhile
      throw e;
    }
    items.push(...deleteItems(ctx, image, result));
    for (const d of result.deleted) reclaimed += layers.get(d) ?? 0;
    for (const [file, size] of blobs) if (!fs.existsSync(file)) reclaimed += size;
  }
  // what no image references any longer (layers and blobs left by earlier removals); only without
  // filters, since berth's prune would also take unnamed images the filters kept
  if (filters.labels.length === 0 && filters.notLabels.length === 0 && filters.createdBefore === undefined) {
    const swept = ctx.berth.pruneImages();
    for (const id of swept.images) items.push({ Deleted: id });
    for (const l of swept.layers) items.push({ Deleted: l });
    reclaimed += swept.reclaimed;
  }
  sendJson(ctx, 200, { ImagesDeleted: items.length ? items : null, SpaceReclaimed: reclaimed });
}

/** GET /images/get?names=...&names=... and /images/{name}/get: a tarball `docker load` reads (an OCI
 *  image layout with docker's manifest.json), written to tmp/ first so that a missing image is
 *  still a 404 and not a cut stream. */
async function save(ctx: Ctx, refs: string[]): Promise<void> {
  if (refs.length === 0) throw badRequest('give the images to save: names=IMAGE (more than once for several)');
  for (const r of refs) imageOf(ctx, r); // each one exists, or a 404 before any byte is sent
  const dir = makeStagingDir(path.join(ctx.berth.images.root, 'tmp'), 'apisave');
  try {
    const file = path.join(dir, 'images.tar');
    await ctx.berth.saveImages(refs, file);
    await sendStream(ctx, 'application/x-tar', fs.createReadStream(file));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** POST /images/load: the body (an image tarball) to a bounded file of tmp/, then docker's lines. */
async function load(ctx: Ctx): Promise<void> {
  const result = await withBodyFile(ctx, 'apiload', (file) => ctx.berth.loadImages(file));
  const out = new JsonLines(ctx);
  for (const image of result.images) {
    const lines = image.names.length ? image.names.map((n) => `Loaded image: ${familiarName(n)}\n`) : [`Loaded image ID: ${image.id}\n`];
    out.write(lines.map((stream) => ({ stream })));
  }
  out.end();
}

export const IMAGE_ROUTES = [
  route('POST', '/images/create', createImage),
  route('GET', '/images/json', list),
  route('GET', '/images/search', () => {
    throw notImplemented('berth does not search registries: look the image up on the registry\u2019s website, then pull it by name');
  }),
  route('GET', '/images/get', (ctx) =>
    save(
      ctx,
      ctx.query
        .getAll('names')
        .flatMap((n) => n.split(','))
        .filter(Boolean),
    ),
  ),
  route('POST', '/images/load', load),
  route('POST', '/images/prune', prune),
  route('GET', '/images/{name*}/json', inspect),
  route('GET', '/images/{name*}/history', history),
  route('GET', '/images/{name*}/get', (ctx) => save(ctx, [ctx.params.name])),
  route('POST', '/images/{name*}/tag', tag),
  route('DELETE', '/images/{name*}', remove),
  route('POST', '/build', () => {
    throw notImplemented('berth does not build images yet; build with another tool (buildah, kaniko) and `docker load` the result');
  }),
  // no build cache to prune: `docker system prune` and `docker builder prune` get nothing to do
  route('POST', '/build/prune', (ctx) => sendJson(ctx, 200, { CachesDeleted: null, SpaceReclaimed: 0 })),
];
