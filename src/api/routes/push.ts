/**
 * POST /images/{name}/push?tag=: docker push, streamed as dockerd streams it. The first line names
 * the repository once the image is known (an unknown name is still an HTTP 404), then per layer
 * `Preparing`, `Pushing` with progressDetail, `Pushed` (or `Layer already exists`, `Mounted from X`),
 * then `TAG: digest: sha256:... size: N` and the aux record the docker CLI reads the digest from.
 * Without a tag every local tag of the repository is pushed, as dockerd does.
 */
import type { PushEvent, PushResult } from '../../image/registry/push-options';
import { parseReference } from '../../image/reference';
import { familiarName } from '../docker/image-json';
import { layerId, progressBar, type JsonMessage } from '../docker/pull-progress';
import type { Ctx } from '../http/context';
import { notFound } from '../http/errors';
import { route } from '../http/router';
import { JsonLines, registryAuth } from './image-create';

/** Pushing lines of one layer at most this often: a local push would send one per MiB. */
const PUSHING_INTERVAL_MS = 100;

type PushMessage = JsonMessage & { aux?: { Tag: string; Digest: string; Size: number } };

/** One push's messages: the events of Berth.pushImage in, docker's JSON messages out. Pure. */
export class PushProgress {
  private headed = false;
  private readonly lastPushing = new Map<string, number>();

  messages(e: PushEvent, now = Date.now()): PushMessage[] {
    if (e.type === 'resolved') {
      // one head line for a push of several tags, as dockerd
      if (this.headed) return [];
      this.headed = true;
      return [{ status: `The push refers to repository [${e.repository}]` }];
    }
    const id = layerId(e.diffId);
    switch (e.status) {
      case 'preparing':
        return [{ status: 'Preparing', progressDetail: {}, id }];
      case 'exists':
        return [{ status: 'Layer already exists', progressDetail: {}, id }];
      case 'mounted':
        return [{ status: `Mounted from ${e.from}`, progressDetail: {}, id }];
      case 'pushed':
        return [{ status: 'Pushed', progressDetail: {}, id }];
      case 'pushing': {
        const current = Math.min(e.current ?? 0, e.total);
        const last = this.lastPushing.get(id);
        if (last !== undefined && now - last < PUSHING_INTERVAL_MS && current < e.total) return [];
        this.lastPushing.set(id, now);
        return [{ status: 'Pushing', progressDetail: { current, total: e.total }, progress: progressBar(current, e.total), id }];
      }
    }
  }

  finish(r: PushResult): PushMessage[] {
    return [
      { status: `${r.tag}: digest: ${r.digest} size: ${r.size}` },
      { progressDetail: {}, aux: { Tag: r.tag, Digest: r.digest, Size: r.size } },
    ];
  }
}

/** The references a request pushes: `name` with the tag asked for, the one in the name, or all local ones. */
export function pushReferences(name: string, tag: string | null, localNames: string[]): string[] {
  const r = parseReference(name);
  const repo = `${r.registry}/${r.repository}`;
  if (tag) return [`${repo}:${tag}`];
  if (/:[\w][\w.-]*$/.test(name.slice(name.lastIndexOf('/') + 1))) return [name];
  const tags = localNames.filter((n) => n.startsWith(`${repo}:`)).sort();
  if (tags.length === 0) throw notFound(`An image does not exist locally with the tag: ${familiarName(repo).replace(/:latest$/, '')}`);
  return tags;
}

async function pushImage(ctx: Ctx): Promise<void> {
  const refs = pushReferences(
    ctx.params.name,
    ctx.query.get('tag'),
    ctx.berth.listImages().flatMap((i) => i.names),
  );
  const credentials = registryAuth(ctx.req.headers['x-registry-auth']);
  const progress = new PushProgress();
  const out = new JsonLines(ctx);
  // a client that leaves stops the push: its uploads end (the registry drops unfinished sessions)
  const controller = new AbortController();
  ctx.res.on('close', () => {
    if (!ctx.res.writableFinished) controller.abort(new Error('the client closed the connection'));
  });
  try {
    for (const ref of refs) {
      const result = await ctx.berth.pushImage(ref, {
        ...(credentials ? { credentials } : {}),
        signal: controller.signal,
        onProgress: (e) => out.write(progress.messages(e)),
      });
      out.write(progress.finish(result));
    }
    out.end();
  } catch (e) {
    out.fail(e);
  }
}

export const PUSH_ROUTES = [route('POST', '/images/{name*}/push', pushImage)];
