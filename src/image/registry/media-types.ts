import { BerthError } from '../../errors';
import { quote } from '../../util/quote';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_SCHEMA1 = [
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];

/** What a pull asks for, most wanted first. Schema 1 is left out: registries then convert to schema 2. */
export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(', ');

type ManifestKind = 'index' | 'manifest';

export function manifestKind(mediaType: string, source: string): ManifestKind {
  if (mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST) return 'index';
  if (mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST) return 'manifest';
  if (DOCKER_SCHEMA1.includes(mediaType)) {
    throw new BerthError(
      'UNSUPPORTED',
      `${source} is a Docker schema 1 image, which berth cannot pull; push it again with a current docker, podman or skopeo`,
    );
  }
  throw new BerthError(
    'UNSUPPORTED',
    `${source} has the manifest media type ${quote(mediaType)}, which berth cannot pull (it reads OCI and Docker schema 2 images)`,
  );
}

type LayerCompression = 'gzip' | 'zstd' | 'none';

const LAYER_TYPES: Record<string, LayerCompression> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  // Deprecated in image-spec 1.1, but still found in old images; their blobs are served like any other.
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
};

/**
 * Checked before any download, so an image berth cannot unpack fails at once instead of after minutes of
 * transfer. The actual decompression sniffs magic bytes: some registries label uncompressed layers gzip.
 */
export function layerCompression(mediaType: string, digest: string): LayerCompression {
  const kind = LAYER_TYPES[mediaType];
  if (kind) return kind;
  if (mediaType.includes('foreign')) {
    throw new BerthError(
      'UNSUPPORTED',
      `Layer ${digest} is a foreign layer (${quote(mediaType)}), used only by Windows images; berth runs Linux images`,
    );
  }
  throw new BerthError(
    'UNSUPPORTED',
    `Layer ${digest} has the media type ${quote(mediaType)}, which berth cannot unpack (it reads tar layers, plain, gzip or zstd)`,
  );
}
