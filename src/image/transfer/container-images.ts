import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../../errors';
import { writeArchiveTo } from './archive-out';
import type { Runtime } from '../../runtime/runtime';
import type { ContainerInfo } from '../../runtime/types';
import { type Change, writeLayerChanges } from '../archive/changes';
import type { CommitOptions, CommitSource } from './commit';
import { containerBranches, writeFlatTar } from './flatten';
import type { ImageStore } from '../store/store';
import { TarWriter } from '../archive/tar-writer';
import type { ImageRecord } from '../types';

/**
 * Turning containers into images and archives: the runtime knows the container (its write layer, image and
 * storage driver), the image store the rest. A running container is read as it is, without pausing it
 * (docker pauses by default): files it writes during the commit may be caught half-written.
 */
function source(runtime: Runtime, ref: string): { info: ContainerInfo; upper: string } {
  const info = runtime.resolve(ref);
  return { info, upper: path.join(runtime.store.containerDir(info.config.id), 'upper') };
}

/** `docker commit CONTAINER [REF]`: see commitImage. */
export function commitContainer(
  runtime: Runtime,
  images: ImageStore,
  container: string,
  ref: string | undefined,
  opts: CommitOptions = {},
): Promise<ImageRecord> {
  const { info, upper } = source(runtime, container);
  const src: CommitSource = {
    upper,
    driver: info.config.storageDriver,
    imageId: info.config.imageId,
    createdBy: info.config.argv.join(' '),
  };
  return images.commit(src, ref, opts);
}

/**
 * `docker export`: the container's merged filesystem as a flat tar, written to `out` (a file path: written
 * to a temp file beside it and renamed, so a failure never leaves a partial archive under that name; or an
 * open file descriptor such as 1).
 */
export async function exportContainer(runtime: Runtime, container: string, out: string | number): Promise<void> {
  const { info, upper } = source(runtime, container);
  for (const dir of info.config.layers) {
    if (!fs.existsSync(dir)) {
      throw new BerthError(
        'INTERNAL',
        `Container ${info.config.name} is missing its image layer ${dir}; its image was removed from the store`,
      );
    }
  }
  const branches = containerBranches(upper, info.config.storageDriver, info.config.layers);
  writeArchiveTo(out, 'export archive', (fd) => {
    const w = new TarWriter(fd);
    writeFlatTar(branches, w);
    w.finish();
  });
}

/** `docker diff`: the container's changes against its image (see writeLayerChanges). */
export function containerChanges(runtime: Runtime, container: string): Change[] {
  const { info, upper } = source(runtime, container);
  return writeLayerChanges(upper, info.config.storageDriver, info.config.layers);
}
