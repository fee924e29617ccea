/**
 * The image operations of class Berth (src/index.ts) beyond pull/import/tag/rmi: each Berth method is a
 * one-line call into here, so the API can grow without touching the class. Nothing heavy is imported at
 * load: src/index.ts loads this on every `berth run`, which must not pay for node-tar or the archive code.
 */
import type { Runtime } from '../runtime/runtime';
import type { Change } from './archive/changes';
import type { CommitOptions } from './transfer/commit';
import type { Credentials } from './registry/auth';
import type { HistoryEntry } from './store/history';
import type { ImageStore } from './store/store';
import type { ImageInspect, ImageRecord, LoadResult, PruneResult } from './types';
import { checkPushOptions, type PushOptions, type PushResult } from './registry/push-options';

export type { CommitOptions } from './transfer/commit';
export type { Change, ChangeKind } from './archive/changes';
export type { ImageInspect, LoadResult, PruneResult } from './types';
export type { Credentials } from './registry/auth';
export type { HistoryEntry } from './store/history';
export type { PushEvent, PushLayerStatus, PushOptions, PushResult } from './registry/push-options';

interface ImageContext {
  images: ImageStore;
  runtime: Runtime;
}

export async function commit(b: ImageContext, container: string, ref: string | undefined, opts: CommitOptions = {}): Promise<ImageRecord> {
  const { commitContainer } = await import('./transfer/container-images');
  return commitContainer(b.runtime, b.images, container, ref, opts);
}

export async function exportTo(b: ImageContext, container: string, out: string | number): Promise<void> {
  const { exportContainer } = await import('./transfer/container-images');
  return exportContainer(b.runtime, container, out);
}

export async function changes(b: ImageContext, container: string): Promise<Change[]> {
  const { containerChanges } = await import('./transfer/container-images');
  return containerChanges(b.runtime, container);
}

export function save(b: ImageContext, refs: string[], out: string | number): Promise<void> {
  return b.images.save(refs, out);
}

export function load(b: ImageContext, file: string): Promise<LoadResult> {
  return b.images.load(file);
}

export function history(b: ImageContext, ref: string): HistoryEntry[] {
  return b.images.history(ref);
}

export function inspect(b: ImageContext, ref: string): ImageInspect {
  return b.images.inspect(ref);
}

export function prune(b: ImageContext): PruneResult {
  const used = new Set(b.runtime.list().map((c) => c.config.imageId));
  return b.images.prune((id) => used.has(id));
}

export function login(
  b: ImageContext,
  registry: string | undefined,
  credentials: Credentials,
  opts: { insecureRegistries?: string[] } = {},
): Promise<string> {
  return b.images.login(registry, credentials, opts);
}

/** docker push; the options are checked here, before the registry client loads. */
export function push(b: ImageContext, ref: string, opts: PushOptions = {}): Promise<PushResult> {
  checkPushOptions(opts);
  return b.images.push(ref, opts);
}

export function logout(b: ImageContext, registry: string | undefined): boolean {
  return b.images.logout(registry);
}
