import * as fs from 'node:fs';
import { BerthError } from '../../errors';
import { writeArchiveTo } from './archive-out';
import { digestHex, sha256Digest } from '../digest';
import { findImage, imageNotFound, nameKey, shortId } from '../store/lookup';
import { manifestLayers } from '../store/manifest-layers';
import { MEDIA_TYPE_CONFIG, MEDIA_TYPE_MANIFEST, type Descriptor } from '../oci';
import type { StoredImage } from '../store/records';
import { familiar } from '../reference';
import type { StoreParts } from '../store/store-parts';
import { TarWriter } from '../archive/tar-writer';

/** OCI image layout annotations: the tag, and the full name as containerd and docker 25+ write it. */
export const REF_NAME = 'org.opencontainers.image.ref.name';
export const CONTAINERD_NAME = 'io.containerd.image.name';

interface SavedImage {
  image: StoredImage;
  /** Fully qualified names to record; empty for an image saved by ID without names. */
  names: string[];
  manifest: { descriptor: Descriptor; bytes?: Buffer };
  config: Descriptor;
  layers: Descriptor[];
}

/**
 * `docker save`: one OCI image layout as a tar (oci-layout, index.json, blobs/sha256/*), plus docker's
 * manifest.json so that `docker load` of any version reads it too (docker 25+ writes the same pair). The
 * index has one entry per name, annotated with the tag (org.opencontainers.image.ref.name, what skopeo's
 * oci-archive:FILE:TAG and umoci's --image DIR:TAG select by) and the full name (io.containerd.image.name).
 */
export async function saveImages(parts: StoreParts, refs: string[], out: string | number): Promise<void> {
  if (refs.length === 0) throw new BerthError('INVALID_ARGUMENT', '"berth save" requires at least one image');
  const names = parts.repositories.read();
  const saved: SavedImage[] = refs.map((ref) => {
    const image = findImage(parts.records, names, ref);
    if (!image) throw imageNotFound(ref);
    const byName = nameKey(ref);
    const all = Object.keys(names)
      .filter((n) => names[n] === image.id)
      .sort();
    return describe(parts, image, byName && names[byName] === image.id ? [byName] : all);
  });
  writeArchiveTo(out, 'image archive', (fd) => writeLayout(parts, saved, fd));
}

/**
 * The blobs of one image. Its manifest is written as stored when it is an OCI manifest, so its digest (and
 * the image's repo digests) survive; a Docker schema 2 manifest is rewritten with OCI media types, since
 * umoci reads only OCI manifests (the config and layer blobs are the same bytes either way).
 */
function describe(parts: StoreParts, image: StoredImage, names: string[]): SavedImage {
  const { blobs } = parts;
  const config: Descriptor = { mediaType: MEDIA_TYPE_CONFIG, digest: image.id, size: sizeOf(parts, image, image.id, 'config') };
  const layers = manifestLayers(blobs, image);
  for (const l of layers) sizeOf(parts, image, l.digest, 'layer');
  let stored: Buffer | undefined;
  try {
    stored = blobs.read(image.manifestDigest);
  } catch {
    stored = undefined;
  }
  const storedType = stored ? (JSON.parse(stored.toString('utf8')) as { mediaType?: string }).mediaType : undefined;
  if (stored && storedType === MEDIA_TYPE_MANIFEST) {
    return {
      image,
      names,
      config,
      layers,
      manifest: { descriptor: { mediaType: MEDIA_TYPE_MANIFEST, digest: image.manifestDigest, size: stored.length } },
    };
  }
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_MANIFEST, config, layers }));
  return {
    image,
    names,
    config,
    layers,
    manifest: { descriptor: { mediaType: MEDIA_TYPE_MANIFEST, digest: sha256Digest(bytes), size: bytes.length }, bytes },
  };
}

function sizeOf(parts: StoreParts, image: StoredImage, digest: string, what: string): number {
  try {
    return fs.statSync(parts.blobs.path(digest)).size;
  } catch (e) {
    throw new BerthError(
      'INTERNAL',
      `Image ${shortId(image.id)} is missing its ${what} blob ${digest}; remove the image and pull or import it again`,
      { cause: e },
    );
  }
}

function writeLayout(parts: StoreParts, saved: SavedImage[], fd: number): void {
  const w = new TarWriter(fd);
  const dirAttrs = { mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) };
  w.bytesFile('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: saved.flatMap((s) =>
      s.names.length === 0
        ? [s.manifest.descriptor]
        : s.names.map((n) => ({ ...s.manifest.descriptor, annotations: { [CONTAINERD_NAME]: n, [REF_NAME]: tagOf(n) } })),
    ),
  };
  w.bytesFile('index.json', Buffer.from(JSON.stringify(index)));
  const dockerManifest = saved.map((s) => ({
    Config: blobName(s.config.digest),
    RepoTags: s.names.map((n) => familiar(n)),
    Layers: s.layers.map((l) => blobName(l.digest)),
  }));
  w.bytesFile('manifest.json', Buffer.from(JSON.stringify(dockerManifest)));
  w.directory('blobs', dirAttrs);
  w.directory('blobs/sha256', dirAttrs);
  const written = new Set<string>();
  const blob = (digest: string, bytes?: Buffer): void => {
    if (written.has(digest)) return;
    written.add(digest);
    if (bytes) w.bytesFile(blobName(digest), bytes);
    else
      w.file(
        blobName(digest),
        { mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) },
        parts.blobs.path(digest),
        fs.statSync(parts.blobs.path(digest)).size,
      );
  };
  for (const s of saved) {
    blob(s.manifest.descriptor.digest, s.manifest.bytes);
    blob(s.config.digest);
    for (const l of s.layers) blob(l.digest);
  }
  w.finish();
}

function blobName(digest: string): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

/** The tag of a fully qualified name: "latest" for docker.io/library/busybox:latest. */
function tagOf(name: string): string {
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : 'latest';
}
