import type { BlobStore } from './blobs';
import type { LayerStore } from './layers';
import type { ImageRecords, StoredImage } from './records';
import type { Repositories } from './repositories';
import type { ImageRecord } from '../types';

/**
 * The pieces of an ImageStore that the operations kept in their own files (commit, save, load, prune)
 * work on, handed over by ImageStore (pull takes a part of them: PullTarget).
 */
export interface StoreParts {
  root: string;
  blobs: BlobStore;
  layers: LayerStore;
  records: ImageRecords;
  repositories: Repositories;
  tmp: string;
  /** The cap on one layer's uncompressed bytes (ImageStoreOptions.maxLayerSize). */
  maxLayerSize(): number;
  /** Runs fn under the store lock, after clearing tmp/ of what dead processes left. */
  mutate<T>(fn: () => Promise<T>): Promise<T>;
  mutateSync<T>(fn: () => T): T;
  withNames(image: StoredImage): ImageRecord;
}
