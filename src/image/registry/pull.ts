import { BerthError } from '../../errors';
import { chainIds } from '../digest';
import type { Descriptor } from '../oci';
import { LayerFetcher } from './pull-layers';
import { parseConfig, resolveImage } from './pull-resolve';
import type { StoredImage } from '../store/records';
import { formatReference, parseReference } from '../reference';
import type { RegistryTimeouts } from '../limits';
import type { Credentials } from './auth';
import { RegistryClient } from './client';
import { parsePlatform } from './platform';
import type { StoreParts } from '../store/store-parts';
import type { ImageRecord } from '../types';
import { verifiedStream } from '../verify';

export interface PullOptions {
  /** "os/arch[/variant]" to pick from a multi-platform image; default the host's (linux/amd64 on x64). */
  platform?: string;
  /** For registries that need a login (basic auth, or exchanged for a bearer token). */
  credentials?: Credentials;
  /** Hosts that may be reached over plain http besides localhost and 127.0.0.0/8 (--insecure-registry). */
  insecureRegistries?: string[];
  /** Seconds a registry may take to answer, and to send the next bytes; default $BERTH_REGISTRY_CONNECT_TIMEOUT and $BERTH_REGISTRY_TIMEOUT, else 30 and 60. */
  registryTimeouts?: RegistryTimeouts;
  /** Layers downloaded at once. Default 3, as docker. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (event: PullEvent) => void;
}

export type LayerStatus = 'exists' | 'downloading' | 'verified' | 'extracting' | 'done';

export type PullEvent =
  | { type: 'resolved'; name: string; digest: string; layers: number }
  | { type: 'layer'; digest: string; status: LayerStatus; current?: number; total: number };

export interface PullResult {
  image: ImageRecord;
  /** The fully qualified reference pulled: docker.io/library/busybox:latest. */
  name: string;
  /** The digest the registry knows the image by (the index's for a multi-platform image). */
  digest: string;
  /** True when the store already had the image and nothing was downloaded. */
  upToDate: boolean;
}

/** The parts of the image store a pull writes, handed over by ImageStore.pull. */
export type PullTarget = Pick<
  StoreParts,
  'blobs' | 'layers' | 'records' | 'repositories' | 'tmp' | 'maxLayerSize' | 'mutateSync' | 'withNames'
>;

const MAX_CONFIG_BYTES = 8 << 20;
/** A publish that finds a layer or blob gone (a concurrent rmi or prune) fetches it again; this often at most. */
const MAX_ATTEMPTS = 3;

/**
 * docker pull: resolve the reference, download the missing layer blobs in parallel, verifying each while
 * it streams, and unpack the missing layers, all into this pull's own directory under tmp/ and without
 * the store lock: a registry that stalls must not block every other command. The lock is taken only to
 * publish blobs, layers, record and name, once every one of them checked out; a layer another pull
 * published meanwhile is kept and the copy discarded. The directory is removed on failure, and by the
 * next command after a crash (staging.ts).
 */
export async function pull(target: PullTarget, ref: string, opts: PullOptions = {}): Promise<PullResult> {
  const r = parseReference(ref);
  const platform = opts.platform !== undefined ? parsePlatform(opts.platform) : undefined;
  const maxLayerSize = target.maxLayerSize();
  // Aborted by the caller's signal, or by the pull itself when one download fails and the others should stop.
  const controller = new AbortController();
  if (opts.signal?.aborted) controller.abort(opts.signal.reason);
  opts.signal?.addEventListener('abort', () => controller.abort(opts.signal!.reason), { once: true });
  const signal = controller.signal;
  const client = new RegistryClient(r.registry, {
    credentials: opts.credentials,
    insecureRegistries: opts.insecureRegistries,
    signal,
    timeouts: opts.registryTimeouts,
  });
  // As docker: a reference with a digest pulls that content and names nothing (a tag beside it is ignored).
  const name = r.digest ? formatReference({ registry: r.registry, repository: r.repository, digest: r.digest }) : formatReference(r);
  const source = formatReference(r);

  const resolved = await resolveImage(client, r, platform);
  const repoDigest = `${r.registry}/${r.repository}@${resolved.digest}`;
  opts.onProgress?.({ type: 'resolved', name, digest: resolved.digest, layers: resolved.layers.length });
  const configBytes =
    storedBlob(target, resolved.config.digest) ??
    (await readVerified(
      await client.blob(r.repository, resolved.config.digest),
      resolved.config,
      `config ${resolved.config.digest} of ${source}`,
    ));
  const config = parseConfig(configBytes, resolved.layers.length, source);
  const chain = chainIds(config.rootfs.diff_ids);
  const id = resolved.config.digest;

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const existing = target.records.get(id);
    let fetcher: LayerFetcher | undefined;
    if (existing && complete(target, existing)) {
      for (const l of resolved.layers) opts.onProgress?.({ type: 'layer', digest: l.digest, status: 'exists', total: l.size });
    } else {
      fetcher = new LayerFetcher(target, client, r.repository, source, resolved, config, chain, maxLayerSize, opts, controller);
    }
    try {
      await fetcher?.stage();
      const result = target.mutateSync(() => {
        // Read again under the lock: another command may have changed the record or removed layers since.
        const current = target.records.get(id);
        let stored: StoredImage;
        if (fetcher) {
          const size = fetcher.publish();
          if (size === undefined) return undefined;
          target.blobs.put(configBytes);
          const manifestDigest = target.blobs.put(resolved.manifestBytes).digest;
          const created = typeof config.created === 'string' ? config.created : new Date().toISOString();
          stored = { id, manifestDigest, config, chainIds: chain, size, created, repoDigests: union(current?.repoDigests, repoDigest) };
        } else {
          if (!current || !complete(target, current)) return undefined;
          stored = { ...current, repoDigests: union(current.repoDigests, repoDigest) };
        }
        target.records.save(stored);
        // A digest reference names one image, the one pulled last (as docker's reference store): an index digest
        // pulled for another platform before now leads here.
        for (const other of target.records.all()) {
          if (other.id !== stored.id && other.repoDigests?.includes(repoDigest)) {
            target.records.save({ ...other, repoDigests: other.repoDigests.filter((d) => d !== repoDigest) });
          }
        }
        const names = target.repositories.read();
        if (!r.digest) {
          names[name] = stored.id;
          target.repositories.write(names);
        }
        return { image: target.withNames(stored), name, digest: resolved.digest, upToDate: !fetcher };
      });
      if (result) return result;
    } finally {
      fetcher?.discard();
    }
  }
  throw new BerthError(
    'INTERNAL',
    `Layers of ${source} were removed from the store ${MAX_ATTEMPTS} times while it was being pulled (concurrent rmi or prune); pull it again`,
  );
}

function complete(target: PullTarget, image: StoredImage): boolean {
  return image.chainIds.every((c) => target.layers.get(c));
}

/** A stored blob's bytes, or undefined when the store lacks it (or an rmi just removed it). */
function storedBlob(target: PullTarget, digest: string): Buffer | undefined {
  try {
    return target.blobs.has(digest) ? target.blobs.read(digest) : undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** A small JSON blob, read whole and verified. */
async function readVerified(body: AsyncIterable<Buffer>, d: Descriptor, what: string): Promise<Buffer> {
  if (d.size > MAX_CONFIG_BYTES)
    throw new BerthError('UNSUPPORTED', `The ${what} is ${d.size} bytes, more than the ${MAX_CONFIG_BYTES} berth accepts`);
  const chunks: Buffer[] = [];
  const checked = verifiedStream(limitSize(body, d, what), { digest: d.digest, what });
  for await (const chunk of checked) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function* limitSize(body: AsyncIterable<Buffer>, d: Descriptor, what: string): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > d.size)
      throw new BerthError(
        'DIGEST_MISMATCH',
        `The ${what} is longer than the ${d.size} bytes its descriptor gives: the registry sent corrupt or tampered data`,
      );
    yield chunk;
  }
}

function union(list: string[] | undefined, item: string): string[] {
  return [...new Set([...(list ?? []), item])].sort();
}
