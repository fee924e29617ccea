import * as fs from 'node:fs';
import { BerthError } from '../../errors';
import type { BlobStore } from './blobs';
import { shortId } from './lookup';
import { MEDIA_TYPE_LAYER_TAR, type Descriptor } from '../oci';
import type { StoredImage } from './records';

/** Docker schema 2 media types and their OCI equivalents (the same bytes, as image-spec's compatibility notes say). */
const DOCKER_TO_OCI: Record<string, string> = {
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.docker.container.image.v1+json': 'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json': 'application/vnd.oci.image.manifest.v1+json',
};

export function ociMediaType(mediaType: string): string {
  return DOCKER_TO_OCI[mediaType] ?? mediaType;
}

/**
 * The layer blobs of a stored image, bottom first, with OCI media types. They come from the image's
 * manifest (pulled layers are stored compressed, under their own digests); without one, an imported or
 * committed image's layers are its uncompressed tars, stored under their diff IDs.
 */
export function manifestLayers(blobs: BlobStore, image: StoredImage): Descriptor[] {
  let manifest: { layers?: Descriptor[] } | undefined;
  try {
    manifest = JSON.parse(blobs.read(image.manifestDigest).toString('utf8')) as { layers?: Descriptor[] };
  } catch {
    manifest = undefined;
  }
  if (manifest && Array.isArray(manifest.layers) && manifest.layers.length === image.chainIds.length) {
    return manifest.layers.map((l) => ({ mediaType: ociMediaType(l.mediaType), digest: l.digest, size: l.size }));
  }
  return image.config.rootfs.diff_ids.map((digest) => {
    let size: number;
    try {
      size = fs.statSync(blobs.path(digest)).size;
    } catch (e) {
      throw new BerthError(
        'INTERNAL',
        `Image ${shortId(image.id)} has no manifest and its layer blob ${digest} is missing; remove the image and pull or import it again`,
        { cause: e },
      );
    }
    return { mediaType: MEDIA_TYPE_LAYER_TAR, digest, size };
  });
}
