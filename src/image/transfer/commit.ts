import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../../errors';
import { applyChanges } from './commit-changes';
import { sha256Digest } from '../digest';
import { writeDiffTar } from '../archive/diff-tar';
import { shortId } from '../store/lookup';
import { manifestLayers } from '../store/manifest-layers';
import { imageManifest, MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_TAR } from '../oci';
import type { StoredImage } from '../store/records';
import { formatReference, parseTagReference } from '../reference';
import { stagingName } from '../store/staging';
import type { StoreParts } from '../store/store-parts';
import { TarWriter } from '../archive/tar-writer';
import type { ImageConfig, ImageRecord } from '../types';

export interface CommitOptions {
  /** Dockerfile instructions for the new config: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE. */
  changes?: string[];
  /** The history comment, like `docker commit -m`. */
  message?: string;
  /** Recorded as the config's and history entry's author, like `docker commit -a`. */
  author?: string;
}

/** What commit needs to know of the container; the runtime provides it (see container-images.ts). */
export interface CommitSource {
  /** The container's write layer: overlay upperdir or aufs rw branch. May not exist (never started). */
  upper: string;
  driver: 'overlay' | 'aufs';
  /** The image the container was created from. */
  imageId: string;
  /** The container's command, recorded as the history entry's created_by (as docker does). */
  createdBy: string;
}

/**
 * `docker commit`: the write layer becomes a new uncompressed layer blob on top of the container's image,
 * with a new config (the parent's, the changes applied, one more diff ID and history entry), manifest and
 * record. The parent image is not touched. Everything is written under tmp/ and published only when
 * complete: the layer by one rename, then the blobs, then the record and the name.
 */
export async function commitImage(
  parts: StoreParts,
  src: CommitSource,
  ref: string | undefined,
  opts: CommitOptions = {},
): Promise<ImageRecord> {
  const name = ref === undefined ? undefined : formatReference(parseTagReference(ref));
  return parts.mutate(async () => {
    const parent = parts.records.get(src.imageId);
    if (!parent) {
      throw new BerthError(
        'IMAGE_NOT_FOUND',
        `The image of this container (${shortId(src.imageId)}) is no longer in the store, so there is nothing to commit on top of; export the container instead (berth export)`,
      );
    }
    // Checked before any writing: a typo in --change must not cost a layer's worth of I/O.
    const runConfig = applyChanges(parent.config.config, opts.changes ?? []);
    const tarFile = path.join(parts.tmp, stagingName('commit', '.tar'));
    try {
      const fd = fs.openSync(tarFile, 'wx', 0o600);
      let layerTar: { digest: string; size: number };
      try {
        const w = new TarWriter(fd);
        writeDiffTar(src.upper, w, { driver: src.driver });
        layerTar = w.finish();
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      const diffId = layerTar.digest;
      const parentChain = parent.chainIds.length ? parent.chainIds[parent.chainIds.length - 1] : null;
      const chainId = parentChain ? sha256Digest(`${parentChain} ${diffId}`) : diffId;
      const layer = parts.layers.get(chainId) ?? (await parts.layers.create(tarFile, diffId, chainId, parentChain));
      const layerDescriptors = [
        ...manifestLayers(parts.blobs, parent),
        { mediaType: MEDIA_TYPE_LAYER_TAR, digest: diffId, size: layerTar.size },
      ];
      parts.blobs.commit({ digest: diffId, size: layerTar.size, file: tarFile });

      const created = new Date().toISOString();
      const config = commitConfig(parent.config, runConfig, diffId, created, src.createdBy, opts);
      const configBlob = parts.blobs.put(JSON.stringify(config));
      const manifest = imageManifest({ mediaType: MEDIA_TYPE_CONFIG, ...configBlob }, layerDescriptors);
      const stored: StoredImage = {
        id: configBlob.digest,
        manifestDigest: parts.blobs.put(JSON.stringify(manifest)).digest,
        config,
        chainIds: [...parent.chainIds, chainId],
        size: parent.size + layer.size,
        created,
      };
      parts.records.save(stored);
      const names = parts.repositories.read();
      if (name) {
        names[name] = stored.id;
        parts.repositories.write(names);
      }
      return parts.withNames(stored);
    } finally {
      fs.rmSync(tarFile, { force: true });
    }
  });
}

function commitConfig(
  parent: ImageConfig,
  runConfig: NonNullable<ImageConfig['config']>,
  diffId: string,
  created: string,
  createdBy: string,
  opts: CommitOptions,
): ImageConfig {
  const entry = {
    created,
    created_by: createdBy,
    ...(opts.author ? { author: opts.author } : {}),
    ...(opts.message ? { comment: opts.message } : {}),
  };
  return {
    ...parent,
    created,
    ...(opts.author ? { author: opts.author } : {}),
    config: runConfig,
    rootfs: { type: 'layers', diff_ids: [...parent.rootfs.diff_ids, diffId] },
    history: [...(parent.history ?? []), entry],
  };
}
