/**
 * docker push: a named image's layer blobs, then its config, then its manifest to the registry the name
 * points at. The manifest is the very bytes the store keeps (pulled, loaded, or written by import and
 * commit), so the digest the registry answers is the image's manifest digest: a pulled image keeps the
 * digest it was pulled by. Nothing local changes until the registry took the manifest; then the image
 * gains the RepoDigest `registry/repository@digest`, as docker records one.
 */
import { BerthError } from '../../errors';
import { sha256Digest } from '../digest';
import type { Descriptor } from '../oci';
import { familiar, formatReference, parseReference, type ImageReference } from '../reference';
import type { StoredImage } from '../store/records';
import type { StoreParts } from '../store/store-parts';
import { AuthFile } from './auth-file';
import { RegistryClient } from './client';
import { RegistryError } from './errors';
import { manifestKind } from './media-types';
import { pushBlob, refusal, type BlobOutcome } from './push-blobs';
import { mountSources } from './push-mounts';
import type { PushEvent, PushOptions, PushResult } from './push-options';
import { quote } from '../../util/quote';

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** docker's default max-concurrent-uploads. */
const DEFAULT_CONCURRENCY = 5;

/** What a push sends, read from the store before anything goes out. */
interface PushPlan {
  image: StoredImage;
  manifestBytes: Buffer;
  mediaType: string;
  config: Descriptor;
  /** Bottom first, each with the diff ID docker shows it by. */
  layers: Array<Descriptor & { diffId: string }>;
}

export async function push(parts: StoreParts, ref: string, opts: PushOptions = {}): Promise<PushResult> {
  try {
    return await pushTag(parts, ref, opts);
  } catch (e) {
    // fetch's TypeError says nothing more than the message already does; the fix is what is missing
    if (e instanceof RegistryError && e.failure === 'unreachable') {
      throw new RegistryError('unreachable', `${e.message}; check that the registry runs and that ${quote(ref)} names it`);
    }
    throw e;
  }
}

async function pushTag(parts: StoreParts, ref: string, opts: PushOptions): Promise<PushResult> {
  const r = pushReference(ref);
  const name = formatReference(r);
  const tag = r.tag ?? 'latest';
  const plan = readPlan(parts, name);
  const controller = new AbortController();
  if (opts.signal?.aborted) controller.abort(opts.signal.reason);
  opts.signal?.addEventListener('abort', () => controller.abort(opts.signal!.reason), { once: true });
  const client = new RegistryClient(r.registry, {
    credentials: opts.credentials ?? new AuthFile(parts.root).get(r.registry),
    insecureRegistries: opts.insecureRegistries,
    signal: controller.signal,
    timeouts: opts.registryTimeouts,
    push: true,
  });
  const emit = (e: PushEvent) => opts.onProgress?.(e);
  emit({ type: 'resolved', name, repository: `${r.registry}/${r.repository}`, tag, layers: plan.layers.length });
  const mountFrom = mountSources(parts, r, [...plan.layers.map((l) => l.digest), plan.config.digest]);

  for (const l of plan.layers) emit({ type: 'layer', digest: l.digest, diffId: l.diffId, status: 'preparing', total: l.size });
  await inPool(plan.layers, opts.concurrency ?? DEFAULT_CONCURRENCY, controller, async (l) => {
    const outcome = await pushBlob({
      client,
      repository: r.repository,
      descriptor: l,
      file: parts.blobs.path(l.digest),
      mountFrom: mountFrom.get(l.digest),
      onBytes: (current) => emit({ type: 'layer', digest: l.digest, diffId: l.diffId, status: 'pushing', current, total: l.size }),
    });
    emit(layerDone(l, outcome));
  });
  await pushBlob({
    client,
    repository: r.repository,
    descriptor: plan.config,
    file: parts.blobs.path(plan.config.digest),
    mountFrom: mountFrom.get(plan.config.digest),
  });

  const digest = sha256Digest(plan.manifestBytes);
  const what = `manifest ${tag} of ${r.registry}/${r.repository}`;
  const res = await client.request(r.repository, `manifests/${tag}`, { 'content-type': plan.mediaType }, what, {
    method: 'PUT',
    body: () => new Uint8Array(plan.manifestBytes),
  });
  if (res.status !== 201 && res.status !== 200) throw await refusal(client, res, r.repository, what);
  await res.body?.cancel();
  const stored = res.headers.get('docker-content-digest');
  if (stored && stored !== digest) {
    throw new RegistryError('protocol', `The registry ${r.registry} stored the manifest of ${familiar(name)} as ${stored}, not ${digest}`);
  }
  recordRepoDigest(parts, plan.image.id, `${r.registry}/${r.repository}@${digest}`);
  return { name, tag, digest, size: plan.manifestBytes.length };
}

/** A tag to push: docker pushes names, not digests (a digest is what the registry answers). */
function pushReference(ref: string): ImageReference {
  const r = parseReference(ref);
  if (r.digest) {
    throw new BerthError('INVALID_ARGUMENT', `Cannot push ${quote(ref)}: push a name with a tag (NAME[:TAG]), not a digest`);
  }
  return r;
}

/** The image the name points at, its manifest and every blob it lists, all checked to be in the store. */
function readPlan(parts: Pick<StoreParts, 'blobs' | 'records' | 'repositories'>, name: string): PushPlan {
  const id = parts.repositories.read()[name];
  const image = id ? parts.records.get(id) : undefined;
  if (!image) {
    throw new BerthError(
      'IMAGE_NOT_FOUND',
      `An image does not exist locally with the tag ${familiar(name)}; name one so with \`berth tag IMAGE ${familiar(name)}\`, then push`,
    );
  }
  const damaged = (what: string) =>
    new BerthError('INTERNAL', `Image ${familiar(name)} ${what}; remove it and pull, import or load it again, then push`);
  let manifestBytes: Buffer;
  try {
    manifestBytes = parts.blobs.read(image.manifestDigest);
  } catch {
    throw damaged(`has lost its manifest ${image.manifestDigest} from the store`);
  }
  const m = parseManifest(manifestBytes);
  if (!m) throw damaged(`has a manifest ${image.manifestDigest} that is not a schema 2 image manifest`);
  const mediaType = m.mediaType ?? (m.config.mediaType.startsWith('application/vnd.docker.') ? DOCKER_MANIFEST : OCI_MANIFEST);
  manifestKind(mediaType, familiar(name));
  const diffIds = image.config.rootfs.diff_ids;
  if (m.config.digest !== image.id || m.layers.length !== diffIds.length) throw damaged('has a manifest that does not match its config');
  const layers = m.layers.map((l, i) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size, diffId: diffIds[i] }));
  for (const d of [...layers, m.config]) {
    if (!parts.blobs.has(d.digest)) throw damaged(`lacks the blob ${d.digest} its manifest lists`);
  }
  return { image, manifestBytes, mediaType, config: m.config, layers };
}

interface ManifestJson {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

function parseManifest(bytes: Buffer): ManifestJson | undefined {
  try {
    const m = JSON.parse(bytes.toString('utf8')) as Partial<ManifestJson> & { schemaVersion?: number };
    const ok = (d: unknown): d is Descriptor =>
      !!d &&
      typeof (d as Descriptor).digest === 'string' &&
      typeof (d as Descriptor).size === 'number' &&
      typeof (d as Descriptor).mediaType === 'string';
    if (m.schemaVersion !== 2 || !ok(m.config) || !Array.isArray(m.layers) || !m.layers.every(ok)) return undefined;
    return m as ManifestJson;
  } catch {
    return undefined;
  }
}

function layerDone(l: Descriptor & { diffId: string }, outcome: BlobOutcome): PushEvent {
  const base = { type: 'layer' as const, digest: l.digest, diffId: l.diffId, total: l.size };
  if (outcome.kind === 'exists') return { ...base, status: 'exists' };
  if (outcome.kind === 'mounted') return { ...base, status: 'mounted', from: outcome.from };
  return { ...base, status: 'pushed', current: l.size };
}

/** Runs `work` over the items, `limit` at a time; the first failure aborts the rest and is thrown. */
async function inPool<T>(items: T[], limit: number, controller: AbortController, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { e: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (e) {
        failure ??= { e };
        controller.abort(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.e;
}

/** Under the lock: the image may have been removed meanwhile, which the push does not undo. */
function recordRepoDigest(parts: StoreParts, id: string, repoDigest: string): void {
  parts.mutateSync(() => {
    const current = parts.records.get(id);
    if (!current || current.repoDigests?.includes(repoDigest)) return;
    parts.records.save({ ...current, repoDigests: [...(current.repoDigests ?? []), repoDigest].sort() });
  });
}
