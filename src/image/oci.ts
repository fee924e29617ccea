import * as path from 'node:path';
import type { ImageConfig } from './types';

export const MEDIA_TYPE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MEDIA_TYPE_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: typeof MEDIA_TYPE_MANIFEST;
  config: Descriptor;
  layers: Descriptor[];
}

/** Node's process.arch in the GOARCH vocabulary OCI uses. */
export function ociArchitecture(arch: string = process.arch): string {
  switch (arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    case 'ppc64':
      return 'ppc64le'; // Node supports ppc64 on Linux only in little-endian
    case 'mips64el':
      return 'mips64le';
    case 'mipsel':
      return 'mipsle';
    default:
      return arch; // arm64, arm, s390x, riscv64, loong64 are spelled the same
  }
}

/** The config `docker import` writes: no Cmd or Env, a single layer, one history entry. */
export function importConfig(diffId: string, created: string, source: string, message?: string): ImageConfig {
  return {
    architecture: ociArchitecture(),
    os: 'linux',
    created,
    config: {},
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: 'import', comment: message ?? `Imported from ${path.basename(source)}` }],
  };
}

export function imageManifest(config: Descriptor, layers: Descriptor[]): ImageManifest {
  return { schemaVersion: 2, mediaType: MEDIA_TYPE_MANIFEST, config, layers };
}
