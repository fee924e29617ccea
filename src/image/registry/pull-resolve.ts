import { BerthError } from '../../errors';
import { isDigest } from '../digest';
import type { Descriptor } from '../oci';
import { formatReference, type ImageReference } from '../reference';
import type { RegistryClient } from './client';
import { layerCompression, manifestKind } from './media-types';
import { hostPlatform, selectPlatform, type Platform, type PlatformDescriptor } from './platform';
import type { ImageConfig } from '../types';
import { quote } from '../../util/quote';

/** What a reference resolves to in a registry: one platform's manifest, with its config. */
export interface ResolvedImage {
  /** The digest the reference names: the index's when there was one, else the manifest's (docker's RepoDigest). */
  digest: string;
  manifestDigest: string;
  manifestBytes: Buffer;
  config: Descriptor;
  layers: Descriptor[];
}

interface ManifestJson {
  schemaVersion?: number;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: PlatformDescriptor[];
}

/** Resolve `ref` to a manifest for `platform` (default the host's), following an index or manifest list. */
export async function resolveImage(
  client: RegistryClient,
  ref: ImageReference,
  platform: Platform = hostPlatform(),
): Promise<ResolvedImage> {
  const source = formatReference(ref);
  const top = await client.manifest(ref.repository, ref.digest ?? ref.tag ?? 'latest');
  let fetched = top;
  if (manifestKind(top.mediaType, source) === 'index') {
    const index = parse(top.bytes, source);
    if (!Array.isArray(index.manifests)) throw malformed(source, 'an index without "manifests"');
    const entry = selectPlatform(index.manifests, platform, source);
    checkDescriptor(entry, source);
    fetched = await client.manifest(ref.repository, entry.digest);
    if (manifestKind(fetched.mediaType, source) !== 'manifest') throw malformed(source, 'an index that points at another index');
  }
  const m = parse(fetched.bytes, source);
  if (m.schemaVersion !== 2 || !m.config || !Array.isArray(m.layers))
    throw malformed(source, 'a manifest without schemaVersion 2, config and layers');
  checkDescriptor(m.config, source);
  for (const layer of m.layers) {
    checkDescriptor(layer, source);
    layerCompression(layer.mediaType, layer.digest); // refuse what cannot be unpacked before downloading anything
  }
  return { digest: top.digest, manifestDigest: fetched.digest, manifestBytes: fetched.bytes, config: m.config, layers: m.layers };
}

/** The image config, checked against the manifest: one diff ID per layer. */
export function parseConfig(bytes: Buffer, layers: number, source: string): ImageConfig {
  const config = parse(bytes, source) as unknown as ImageConfig;
  const diffIds = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || !diffIds.every((d) => typeof d === 'string' && isDigest(d))) {
    throw malformed(source, 'a config without sha256 rootfs.diff_ids');
  }
  if (diffIds.length !== layers) {
    throw malformed(source, `a config listing ${diffIds.length} layers for a manifest of ${layers}`);
  }
  return config;
}

function parse(bytes: Buffer, source: string): ManifestJson {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as ManifestJson;
  } catch {
    // reported below
  }
  throw malformed(source, 'JSON that is not an object');
}

function checkDescriptor(d: Descriptor, source: string): void {
  if (!d || typeof d.digest !== 'string' || typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw malformed(source, 'a descriptor without digest and size');
  }
  if (!isDigest(d.digest)) {
    throw new BerthError('UNSUPPORTED', `${source} refers to ${quote(d.digest)}; berth verifies sha256 digests only`);
  }
}

function malformed(source: string, what: string): BerthError {
  return new BerthError('UNSUPPORTED', `The registry's answer for ${source} is ${what}; berth cannot pull it`);
}
