import * as fs from 'node:fs';
import { BerthError } from '../../errors';
import { ArchiveFiles, type ArchiveFile } from '../archive/archive-reader';
import { detectCompression, uncompressed } from '../archive/compression';
import { chainIds, isDigest, sha256Digest } from '../digest';
import type { StagedLayer } from '../store/layers';
import { ociMediaType } from '../store/manifest-layers';
import { imageManifest, MEDIA_TYPE_CONFIG, type Descriptor } from '../oci';
import { parseConfig } from '../registry/pull-resolve';
import type { StoredImage } from '../store/records';
import { formatReference, parseReference } from '../reference';
import { manifestKind } from '../registry/media-types';
import { hostPlatform, selectPlatform, type PlatformDescriptor } from '../registry/platform';
import { CONTAINERD_NAME, REF_NAME } from './save';
import { makeStagingDir } from '../store/staging';
import type { StoreParts } from '../store/store-parts';
import type { ImageConfig, LoadResult } from '../types';
import { openArchive } from '../archive/unpack';
import { verifiedStream } from '../verify';
import { quote } from '../../util/quote';

/** One image found in the archive, its blobs still in the work dir. */
interface FoundImage {
  names: string[];
  configBytes: Buffer;
  /** The manifest's bytes when the archive had one (OCI layout); else one is made (docker-archive). */
  manifestBytes?: Buffer;
  layers: Array<{ descriptor: Descriptor; blob: ArchiveFile }>;
}

type LayoutDescriptor = PlatformDescriptor & { annotations?: Record<string, string> };

interface DockerManifestEntry {
  Config?: string;
  RepoTags?: string[] | null;
  Layers?: string[];
}

/**
 * `docker load`: the images of an OCI image layout tar (index.json; nested indexes resolved to this host's
 * platform) or a docker-archive tar (manifest.json with Config, RepoTags and Layers, as `docker save` and
 * `skopeo copy ... docker-archive:` write it). Every blob is checked against its digest before it is
 * unpacked, every layer against its diff ID while it unpacks, all into this load's own directory under
 * tmp/ without the store lock; the lock is taken only to publish, once all images of the archive checked out.
 */
export async function loadImages(parts: StoreParts, source: string): Promise<LoadResult> {
  const maxBytes = parts.maxLayerSize();
  const work = makeStagingDir(parts.tmp, 'load');
  try {
    const archive = await ArchiveFiles.read(source, work, maxBytes);
    const found = archive.has('index.json')
      ? fromOciLayout(archive, source)
      : archive.has('manifest.json')
        ? fromDockerArchive(archive, source)
        : undefined;
    if (!found) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        `${quote(source)} is neither an OCI image layout (no index.json) nor a docker save archive (no manifest.json); to import a flat rootfs tar use berth import`,
      );
    }
    if (found.length === 0) throw new BerthError('INVALID_ARGUMENT', `The image archive ${quote(source)} contains no image`);
    const staged = new Map<string, StagedLayer>();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const images = await stageImages(parts, found, staged, work, source, maxBytes);
      const published = parts.mutateSync(() => publish(parts, images, staged));
      if (published) return { images: published };
    }
    throw new BerthError(
      'INTERNAL',
      `Layers of images in ${quote(source)} were removed from the store ${MAX_ATTEMPTS} times while they were being loaded (concurrent rmi or prune); load it again`,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A publish that finds a layer gone (a concurrent rmi) unpacks it again; this often at most. */
const MAX_ATTEMPTS = 3;

function fromOciLayout(archive: ArchiveFiles, source: string): FoundImage[] {
  const index = archive.json<{ manifests?: LayoutDescriptor[] }>('index.json', 'OCI index');
  if (!Array.isArray(index.manifests))
    throw new BerthError('INVALID_ARGUMENT', `The index.json of ${quote(source)} has no "manifests" list`);
  // docker 25+ archives carry both files; manifest.json's RepoTags name images whose index entries lack a name.
  const dockerNames = new Map<string, string[]>();
  if (archive.has('manifest.json')) {
    for (const e of archive.json<DockerManifestEntry[]>('manifest.json', 'docker manifest')) {
      if (e.Config) dockerNames.set(archive.get(e.Config, 'image config').digest, (e.RepoTags ?? []).map(normalizeName));
    }
  }
  const host = hostPlatform();
  // Entries of other platforms at the top level are skipped when the host's is among them.
  const top =
    index.manifests.some((m) => m.platform) && index.manifests.some((m) => samePlatform(m, host))
      ? index.manifests.filter((m) => !m.platform || samePlatform(m, host))
      : index.manifests;
  const byManifest = new Map<string, FoundImage>();
  for (const entry of top) {
    const manifest = resolveManifest(archive, entry, source);
    const m = JSON.parse(manifest.bytes.toString('utf8')) as { config?: Descriptor; layers?: Descriptor[] };
    if (!m.config || !Array.isArray(m.layers))
      throw new BerthError('INVALID_ARGUMENT', `The manifest ${manifest.digest} in ${quote(source)} has no config or layers`);
    const configBytes = fs.readFileSync(blob(archive, m.config, source).file);
    const found = byManifest.get(manifest.digest) ?? {
      names: [...(dockerNames.get(m.config.digest) ?? [])],
      configBytes,
      manifestBytes: manifest.bytes,
      layers: m.layers.map((d) => ({ descriptor: d, blob: blob(archive, d, source) })),
    };
    const name = nameFrom(entry.annotations);
    if (name && !found.names.includes(name)) found.names.push(name);
    byManifest.set(manifest.digest, found);
  }
  return [...byManifest.values()];
}

/** A manifest descriptor, or an index (docker 25 nests one per image) resolved to this host's platform. */
function resolveManifest(archive: ArchiveFiles, d: LayoutDescriptor, source: string, depth = 0): { digest: string; bytes: Buffer } {
  const bytes = fs.readFileSync(blob(archive, d, source).file);
  if (manifestKind(d.mediaType, `${d.digest} in ${quote(source)}`) === 'manifest') return { digest: d.digest, bytes };
  if (depth > 2) throw new BerthError('UNSUPPORTED', `${quote(source)} nests indexes more than two deep`);
  const nested = JSON.parse(bytes.toString('utf8')) as { manifests?: LayoutDescriptor[] };
  const entries = (nested.manifests ?? []).filter((m) => !m.annotations?.['vnd.docker.reference.type']); // attestations
  const chosen =
    entries.length === 1 && !entries[0].platform
      ? entries[0]
      : selectPlatform(entries, hostPlatform(), `The index ${d.digest} in ${quote(source)}`);
  return resolveManifest(archive, chosen, source, depth + 1);
}

function fromDockerArchive(archive: ArchiveFiles, source: string): FoundImage[] {
  const entries = archive.json<DockerManifestEntry[]>('manifest.json', 'docker manifest');
  if (!Array.isArray(entries)) throw new BerthError('INVALID_ARGUMENT', `The manifest.json of ${quote(source)} is not a list of images`);
  return entries.map((e) => {
    if (!e.Config || !Array.isArray(e.Layers))
      throw new BerthError('INVALID_ARGUMENT', `An entry of manifest.json in ${quote(source)} lacks Config or Layers`);
    const config = archive.get(e.Config, 'image config');
    return {
      names: (e.RepoTags ?? []).map(normalizeName),
      configBytes: fs.readFileSync(config.file),
      layers: e.Layers.map((name) => {
        const layer = archive.get(name, 'a layer');
        return { descriptor: { mediaType: layerMediaType(layer.file), digest: layer.digest, size: layer.size }, blob: layer };
      }),
    };
  });
}

interface StagedImage {
  stored: Omit<StoredImage, 'size'>;
  configBytes: Buffer;
  manifestBytes: Buffer;
  names: string[];
  blobs: ArchiveFile[];
}

/** Unpack every layer of every image that neither the store nor `staged` has, into `staged` (by chain ID). */
async function stageImages(
  parts: StoreParts,
  found: FoundImage[],
  staged: Map<string, StagedLayer>,
  work: string,
  source: string,
  maxBytes: number,
): Promise<StagedImage[]> {
  const images: StagedImage[] = [];
  for (const f of found) {
    const config: ImageConfig = parseConfig(f.configBytes, f.layers.length, quote(source));
    const chain = chainIds(config.rootfs.diff_ids);
    for (let i = 0; i < chain.length; i++) {
      if (staged.has(chain[i]) || parts.layers.get(chain[i])) continue;
      const diffId = config.rootfs.diff_ids[i];
      const what = `layer ${i + 1} of ${f.names[0] ?? 'an image'} in ${quote(source)}`;
      const tar = verifiedStream(uncompressed(await openArchive(f.layers[i].blob.file), what, { maxBytes }), {
        digest: diffId,
        what: `uncompressed ${what} (diff ID)`,
      });
      staged.set(chain[i], await parts.layers.stage(tar, diffId, chain[i], i === 0 ? null : chain[i - 1], work));
    }
    const configDigest = sha256Digest(f.configBytes);
    const manifestBytes =
      f.manifestBytes ??
      Buffer.from(
        JSON.stringify(
          imageManifest(
            { mediaType: MEDIA_TYPE_CONFIG, digest: configDigest, size: f.configBytes.length },
            f.layers.map((l) => l.descriptor),
          ),
        ),
      );
    const created = typeof config.created === 'string' ? config.created : new Date().toISOString();
    images.push({
      stored: { id: configDigest, manifestDigest: sha256Digest(manifestBytes), config, chainIds: chain, created },
      configBytes: f.configBytes,
      manifestBytes,
      names: f.names,
      blobs: f.layers.map((l) => l.blob),
    });
  }
  return images;
}

/**
 * Under the store lock: blobs, layers, records and names in that order; undefined when a layer that was
 * in the store during staging is gone now (then it is staged again).
 */
function publish(parts: StoreParts, images: StagedImage[], staged: Map<string, StagedLayer>): LoadResult['images'] | undefined {
  for (const img of images) {
    if (!img.stored.chainIds.every((c) => staged.has(c) || parts.layers.get(c))) return undefined;
  }
  for (const img of images) {
    parts.blobs.put(img.configBytes);
    parts.blobs.put(img.manifestBytes);
    for (const b of img.blobs) {
      if (parts.blobs.has(b.digest) || !fs.existsSync(b.file)) continue;
      parts.blobs.commit({ digest: b.digest, size: b.size, file: b.file });
    }
  }
  for (const [chainId, layer] of staged) {
    parts.layers.commit(layer);
    staged.delete(chainId);
  }
  const names = parts.repositories.read();
  for (const img of images) {
    const size = img.stored.chainIds.reduce((n, c) => n + (parts.layers.get(c)?.size ?? 0), 0);
    const existing = parts.records.get(img.stored.id);
    const stored: StoredImage = { ...img.stored, size };
    parts.records.save(existing ? { ...stored, repoDigests: existing.repoDigests, created: existing.created } : stored);
    for (const n of img.names) names[n] = img.stored.id;
  }
  parts.repositories.write(names);
  return images.map((img) => ({ id: img.stored.id, names: img.names }));
}

/** A blob of the layout by its descriptor, checked: the name says the digest, the bytes must agree. */
function blob(archive: ArchiveFiles, d: Descriptor, source: string): ArchiveFile {
  if (!d || typeof d.digest !== 'string' || !isDigest(d.digest))
    throw new BerthError('UNSUPPORTED', `${quote(source)} refers to a blob ${quote(d?.digest)}; berth reads sha256 digests only`);
  const f = archive.get(`blobs/sha256/${d.digest.slice(7)}`, `the blob ${d.digest}`);
  if (f.digest !== d.digest || (typeof d.size === 'number' && f.size !== d.size)) {
    throw new BerthError(
      'DIGEST_MISMATCH',
      `The blob ${d.digest} in ${quote(source)} does not match its digest (it has ${f.digest}, ${f.size} bytes): the archive is corrupt or was tampered with`,
    );
  }
  return f;
}

function layerMediaType(file: string): string {
  const head = Buffer.alloc(6);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 6, 0);
  } finally {
    fs.closeSync(fd);
  }
  const kind = detectCompression(head);
  return ociMediaType(
    kind === 'gzip'
      ? 'application/vnd.oci.image.layer.v1.tar+gzip'
      : kind === 'zstd'
        ? 'application/vnd.oci.image.layer.v1.tar+zstd'
        : 'application/vnd.oci.image.layer.v1.tar',
  );
}

/**
 * The name an index entry gives its image: io.containerd.image.name, else a ref.name that is a full
 * reference (podman and skopeo write "busybox:latest"). A bare tag ("latest", what umoci writes) names no
 * repository, so it names nothing.
 */
function nameFrom(annotations: Record<string, string> | undefined): string | undefined {
  const candidates = [annotations?.[CONTAINERD_NAME], annotations?.[REF_NAME]].filter((n): n is string => !!n);
  for (const c of candidates) {
    if (c === annotations?.[REF_NAME] && !/[/:]/.test(c)) continue;
    try {
      return normalizeName(c);
    } catch {
      // not a reference: try the next
    }
  }
  return undefined;
}

function normalizeName(ref: string): string {
  const r = parseReference(ref);
  return formatReference({ registry: r.registry, repository: r.repository, tag: r.tag ?? 'latest' });
}

function samePlatform(d: PlatformDescriptor, host: { os: string; architecture: string }): boolean {
  return d.platform?.os === host.os && d.platform?.architecture === host.architecture;
}
