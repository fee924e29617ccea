import { manifestLayers } from './manifest-layers';
import type { Descriptor } from '../oci';
import type { StoreParts } from './store-parts';
import type { ImageInspect, ImageRecord } from '../types';

/** `docker image inspect`: the record with each layer's diff ID, chain ID and stored blob side by side. */
export function inspectImage(parts: StoreParts, image: ImageRecord): ImageInspect {
  let blobs: Descriptor[] | undefined;
  try {
    blobs = manifestLayers(parts.blobs, image);
  } catch {
    blobs = undefined; // a store missing a blob still shows the rest
  }
  return {
    id: image.id,
    names: image.names,
    repoDigests: image.repoDigests ?? [],
    manifestDigest: image.manifestDigest,
    created: image.created,
    size: image.size,
    config: image.config,
    layers: image.config.rootfs.diff_ids.map((diffId, i) => ({
      diffId,
      chainId: image.chainIds[i],
      digest: blobs?.[i]?.digest ?? diffId,
      mediaType: blobs?.[i]?.mediaType ?? 'unknown',
      size: blobs?.[i]?.size ?? 0,
    })),
  };
}
