/**
 * POST /images/create: a pull (fromImage) streamed as docker's JSON progress lines, or an import
 * (fromSrc=-, the request body a rootfs tar). Also what the other uploads share: a request body
 * streamed to a file of the store's tmp/ under a size bound.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Credentials } from '../../index';
import { maxLayerSize } from '../../image/limits';
import { familiar, parseReference, type ImageReference } from '../../image/reference';
import { RegistryError } from '../../image/registry/errors';
import { makeStagingDir } from '../../image/store/staging';
import { errorMessage, PullProgress, type JsonMessage } from '../docker/pull-progress';
import type { Ctx } from '../http/context';
import { ApiError, badRequest, errorResponse, notFound, notImplemented } from '../http/errors';

/** JSON lines whose head goes out with the first line: until then an error is still a status. */
export class JsonLines {
  started = false;

  constructor(private readonly ctx: Ctx) {}

  write(messages: JsonMessage[]): void {
    if (messages.length === 0) return;
    this.head();
    for (const m of messages) this.ctx.res.write(`${JSON.stringify(m)}\n`);
  }

  end(): void {
    this.head();
    this.ctx.res.end();
  }

  /** An error after the head: docker's error line, then the end. Before it: thrown as a status. */
  fail(e: unknown): void {
    if (!this.started) throw e;
    this.write([errorMessage(errorResponse(e).message)]);
    this.ctx.res.end();
  }

  private head(): void {
    if (this.started) return;
    this.started = true;
    this.ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
  }
}

/**
 * The request body in a file of its own under the store's tmp/ (swept if the service dies), at
 * most `limit` bytes (else 413), handed to `use`; removed afterwards whatever happened.
 */
export async function withBodyFile<T>(ctx: Ctx, kind: string, use: (file: string) => Promise<T>, limit = maxUploadBytes()): Promise<T> {
  const declared = Number(ctx.req.headers['content-length'] ?? NaN);
  if (declared > limit) throw new ApiError(413, `request body of ${declared} bytes is over the limit of ${limit} bytes`);
  const dir = makeStagingDir(path.join(ctx.berth.images.root, 'tmp'), kind);
  try {
    const file = path.join(dir, 'body.tar');
    let size = 0;
    const bounded = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > limit) done(new ApiError(413, `request body is over the limit of ${limit} bytes`));
        else done(null, chunk);
      },
    });
    await pipeline(ctx.req, bounded, fs.createWriteStream(file, { mode: 0o600 }));
    return await use(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** An upload (load, import) is at most what berth accepts as one layer: $BERTH_MAX_LAYER_SIZE,
 *  64 GiB by default. One knob raises both. */
function maxUploadBytes(): number {
  return maxLayerSize(undefined);
}

/**
 * X-Registry-Auth: base64url JSON of docker's AuthConfig. As dockerd, a header that cannot be read
 * is no error for a pull (the stored login, if any, is used); an identity token stands in for the
 * password, the `auth` field (base64 user:password) for both.
 */
export function registryAuth(header: string | string[] | undefined): Credentials | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const text = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : '');
  let username = text('username');
  let password = text('password') || text('identitytoken');
  if ((!username || !password) && text('auth')) {
    const pair = Buffer.from(text('auth'), 'base64').toString('utf8');
    const colon = pair.indexOf(':');
    if (colon > 0) [username, password] = [pair.slice(0, colon), pair.slice(colon + 1)];
  }
  return username && password ? { username, password } : undefined;
}

/** What the client asked to pull: fromImage with tag (a tag, or a digest) as docker composes them. */
export function pullReference(fromImage: string, tag: string | null): string {
  if (!tag) return fromImage;
  // the name without its own tag or digest: the query's tag replaces them, as dockerd's
  let repo = fromImage.replace(/@.*$/, '');
  if (repo.lastIndexOf(':') > repo.lastIndexOf('/')) repo = repo.slice(0, repo.lastIndexOf(':'));
  return /^sha256:/.test(tag) ? `${repo}@${tag}` : `${repo}:${tag}`;
}

/** The registry's own error code and text, as berth's registry client quotes them in its message. */
function registryCode(e: RegistryError): { code: string; text: string } | undefined {
  const m = /\("([A-Z_]+): ((?:[^"\\]|\\.)*)"\)/.exec(e.message);
  if (!m) return undefined;
  try {
    return { code: m[1], text: JSON.parse(`"${m[2]}"`) as string };
  } catch {
    return { code: m[1], text: m[2] };
  }
}

/**
 * dockerd's wording of a pull the registry refused (distribution's translatePullError), which
 * the docker CLI prints as is: a missing tag, a missing repository, or access denied (which a
 * registry also answers for a repository that does not exist). All of them are 404s.
 */
export function pullError(e: unknown, r: ImageReference): unknown {
  if (!(e instanceof RegistryError)) return e;
  // familiar() adds the default tag to a bare name: docker names the repository without one
  const repo = familiar(`${r.registry}/${r.repository}`).replace(/:[^:/]*$/, '');
  const reg = registryCode(e);
  const cause = reg ? `${reg.code.toLowerCase().replace(/_/g, ' ')}: ${reg.text}` : e.message;
  if (e.failure === 'unauthorized' || e.failure === 'denied')
    return notFound(`pull access denied for ${repo}, repository does not exist or may require 'docker login': ${cause}`);
  if (e.failure !== 'not-found') return e;
  if (reg?.code === 'NAME_UNKNOWN') return notFound(`repository ${repo} not found: ${cause}`);
  const shown = r.digest ? `${repo}@${r.digest}` : `${repo}:${r.tag ?? 'latest'}`;
  return notFound(`manifest for ${shown} not found: ${cause}`);
}

async function pull(ctx: Ctx, fromImage: string): Promise<void> {
  const ref = pullReference(fromImage, ctx.query.get('tag'));
  const r = parseReference(ref);
  const platform = ctx.query.get('platform') || undefined;
  const credentials = registryAuth(ctx.req.headers['x-registry-auth']);
  const progress = new PullProgress(r.repository, r.digest ?? r.tag ?? 'latest');
  const out = new JsonLines(ctx);
  // a client that leaves stops the pull: its downloads end and its staging directory goes
  const controller = new AbortController();
  ctx.res.on('close', () => {
    if (!ctx.res.writableFinished) controller.abort(new Error('the client closed the connection'));
  });
  try {
    const result = await ctx.berth.pullImage(ref, {
      ...(platform ? { platform } : {}),
      ...(credentials ? { credentials } : {}),
      signal: controller.signal,
      onProgress: (e) => out.write(progress.messages(e)),
    });
    out.write(progress.finish(result));
    out.end();
  } catch (e) {
    out.fail(pullError(e, r));
  }
}

/** docker import from the request body (fromSrc=-): a flat rootfs tar as a one-layer image. */
async function importBody(ctx: Ctx, fromSrc: string): Promise<void> {
  if (fromSrc !== '-')
    throw notImplemented(
      `berth imports from the request body only (fromSrc=-), not from ${JSON.stringify(fromSrc)}: download the file and import it from there`,
    );
  if (ctx.query.getAll('changes').some((c) => c !== ''))
    throw notImplemented('berth does not apply --change instructions on import yet; import without them and set the options on run');
  const repo = ctx.query.get('repo');
  if (!repo) throw badRequest('berth imports an image under a name: give one (docker import FILE REPOSITORY[:TAG])');
  const tag = ctx.query.get('tag');
  const ref = tag ? `${repo}:${tag}` : repo;
  parseReference(ref); // a bad name is refused before the upload, not after it
  const message = ctx.query.get('message') || undefined;
  const image = await withBodyFile(ctx, 'apiimport', (file) => ctx.berth.images.import(file, ref, message ? { message } : {}));
  const out = new JsonLines(ctx);
  out.write([{ status: image.id }]);
  out.end();
}

export async function createImage(ctx: Ctx): Promise<void> {
  const fromSrc = ctx.query.get('fromSrc');
  if (fromSrc) return importBody(ctx, fromSrc);
  const fromImage = ctx.query.get('fromImage');
  if (!fromImage) throw badRequest('give fromImage (a pull) or fromSrc (an import)');
  return pull(ctx, fromImage);
}
