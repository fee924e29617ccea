import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import type { StagedBlob } from './blobs';
import { uncompressed } from './compression';
import type { StagedLayer } from './layers';
import type { Descriptor } from './oci';
import type { LayerStatus, PullOptions, PullTarget } from './pull';
import type { ResolvedImage } from './pull-resolve';
import type { StoredImage } from './records';
import { causeText, type RegistryClient } from './registry/client';
import { RegistryError } from './registry/errors';
import type { ImageConfig } from './types';
import { openArchive } from './unpack';
import { stageVerified, verifiedStream } from './verify';

/** One pull's downloads and unpacks, all staged in one directory under tmp/. */
export class LayerFetcher {
  private readonly work: string;
  private readonly downloads = new Map<string, Promise<StagedBlob>>();
  private failure: unknown;
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly target: PullTarget,
    private readonly client: RegistryClient,
    private readonly repository: string,
    private readonly source: string,
    private readonly resolved: ResolvedImage,
    private readonly config: ImageConfig,
    private readonly chain: string[],
    private readonly opts: PullOptions,
    private readonly controller: AbortController,
  ) {
    this.work = fs.mkdtempSync(path.join(target.tmp, 'pull-'));
  }

  async run(repoDigests: string[], configBytes: Buffer): Promise<StoredImage> {
    const { layers, blobs } = this.target;
    const stagedLayers: StagedLayer[] = [];
    try {
      const needLayer = this.chain.map((c) => !layers.get(c));
      // Every layer blob the image lists is kept (as the import path keeps its tar), so `save` can
      // later reproduce the manifest's digests; all downloads start now, bounded by the limiter.
      this.resolved.layers.forEach((l) => {
        if (blobs.has(l.digest) || this.downloads.has(l.digest)) return;
        const download = this.download(l);
        // Awaited in layer order below; a later layer failing first must not count as an unhandled rejection.
        download.catch(() => {});
        this.downloads.set(l.digest, download);
      });
      let size = 0;
      for (let i = 0; i < this.chain.length; i++) {
        const layer = this.resolved.layers[i];
        const download = this.downloads.get(layer.digest);
        if (!needLayer[i]) {
          if (download) await download;
          size += layers.get(this.chain[i])!.size;
          this.progress(layer, download ? 'done' : 'exists');
          continue;
        }
        const file = download ? (await download).file : blobs.path(layer.digest);
        this.progress(layer, 'extracting');
        const staged = await this.unpack(file, i);
        stagedLayers.push(staged);
        size += staged.record.size;
        this.progress(layer, 'done');
      }
      const downloaded = await Promise.all(this.downloads.values());
      // Publish: blobs and layers first, then the record that makes them an image. A crash in between
      // leaves complete, unreferenced content that the next pull reuses.
      for (const staged of downloaded) blobs.commit(staged);
      for (const staged of stagedLayers) layers.commit(staged);
      blobs.put(configBytes);
      const manifestDigest = blobs.put(this.resolved.manifestBytes).digest;
      const created = typeof this.config.created === 'string' ? this.config.created : new Date().toISOString();
      return { id: this.resolved.config.digest, manifestDigest, config: this.config, chainIds: this.chain, size, created, repoDigests };
    } catch (e) {
      this.failure ??= e;
      this.controller.abort();
      await Promise.allSettled(this.downloads.values());
      throw this.failure;
    } finally {
      fs.rmSync(this.work, { recursive: true, force: true });
    }
  }

  private async download(layer: Descriptor): Promise<StagedBlob> {
    await this.slot();
    try {
      if (this.failure !== undefined) throw this.failure;
      this.progress(layer, 'downloading', 0);
      const body = await this.client.blob(this.repository, layer.digest);
      const file = path.join(this.work, `blob-${layer.digest.slice(7, 23)}`);
      const what = `layer ${layer.digest} of ${this.source}`;
      const staged = await stageVerified(body, { digest: layer.digest, size: layer.size, what }, file, (n) => this.progress(layer, 'downloading', n));
      this.progress(layer, 'verified');
      return staged;
    } catch (e) {
      // The first failure is the one to report; the aborts it causes in other downloads are not.
      if (this.failure === undefined && !this.controller.signal.aborted) {
        // A connection dropped mid-body surfaces as fetch's bare "terminated": say which download it was.
        this.failure = e instanceof BerthError ? e : new RegistryError('unreachable', `Downloading layer ${layer.digest} from ${this.client.registry} failed: ${causeText(e)}`, { cause: e });
        this.controller.abort();
      }
      throw this.failure ?? e;
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** Unpack one layer from its blob, checking the uncompressed stream against the config's diff ID. */
  private async unpack(file: string, i: number): Promise<StagedLayer> {
    const diffId = this.config.rootfs.diff_ids[i];
    const layer = this.resolved.layers[i];
    const tar = uncompressed(await openArchive(file), `layer ${layer.digest} of ${this.source}`);
    const checked = verifiedStream(tar, { digest: diffId, what: `uncompressed layer ${layer.digest} of ${this.source} (diff ID)` });
    return this.target.layers.stage(checked, diffId, this.chain[i], i === 0 ? null : this.chain[i - 1], this.work);
  }

  private async slot(): Promise<void> {
    const limit = Math.max(1, this.opts.concurrency ?? 3);
    while (this.running >= limit) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
  }

  private progress(layer: Descriptor, status: LayerStatus, current?: number): void {
    this.opts.onProgress?.({ type: 'layer', digest: layer.digest, status, current, total: layer.size });
  }
}
