import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { BerthError } from '../../errors';
import { BlobDownload } from './blob-download';
import type { StagedBlob } from '../store/blobs';
import { AHEAD_BYTES, uncompressed } from '../archive/compression';
import type { StagedLayer } from '../store/layers';
import type { Descriptor } from '../oci';
import type { LayerStatus, PullOptions, PullTarget } from './pull';
import type { ResolvedImage } from './pull-resolve';
import { causeText, type RegistryClient } from './client';
import { RegistryError } from './errors';
import type { ImageConfig } from '../types';
import { makeStagingDir } from '../store/staging';
import { openArchive } from '../archive/unpack';
import { stageVerified, verifiedStream } from '../verify';

/**
 * One pull's downloads and unpacks, all staged in one directory of its own under tmp/, without the store
 * lock. A layer that is missing from the store is unpacked while it downloads (body -> digest check and
 * blob file -> decompress -> diff ID check -> tar -> its own staging dir), all layers at once up to the
 * concurrency limit: each is a separate overlay lowerdir, so only their publication has an order. A
 * staged layer counts only once its compressed blob matched its digest (BlobDownload fails the body's
 * end otherwise); publish() runs under the lock after every blob and every diff ID checked out.
 */
export class LayerFetcher {
  private work = '';
  /** Blob downloads by digest, each resolving to the verified staged blob. */
  private readonly downloads = new Map<string, Promise<StagedBlob>>();
  private readonly tasks: Promise<unknown>[] = [];
  private failure: unknown;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** How each layer ended, by index: 'done' is reported bottom up, as docker's "Pull complete". */
  private readonly finished: Array<'exists' | 'done'> = [];
  private reported = 0;
  private readonly stagedLayers: Array<StagedLayer | undefined> = [];
  private downloaded: StagedBlob[] = [];

  constructor(
    private readonly target: PullTarget,
    private readonly client: RegistryClient,
    private readonly repository: string,
    private readonly source: string,
    private readonly resolved: ResolvedImage,
    private readonly config: ImageConfig,
    private readonly chain: string[],
    private readonly maxLayerSize: number,
    private readonly opts: PullOptions,
    private readonly controller: AbortController,
  ) {}

  /** Download and unpack what the store lacks (as it is now) into this pull's directory. */
  async stage(): Promise<void> {
    const { layers, blobs } = this.target;
    this.work = makeStagingDir(this.target.tmp, 'pull');
    try {
      // Every layer blob the image lists is kept (as the import path keeps its tar), so `save` can
      // later reproduce the manifest's digests.
      this.resolved.layers.forEach((layer, i) => {
        if (layers.get(this.chain[i])) {
          if (blobs.has(layer.digest)) return this.finish(i, 'exists');
          let download = this.downloads.get(layer.digest);
          if (!download) this.downloads.set(layer.digest, (download = this.track(this.download(layer))));
          this.track(download.then(() => this.finish(i, 'done')));
          return;
        }
        let staging: Promise<StagedLayer>;
        const download = this.downloads.get(layer.digest);
        if (blobs.has(layer.digest)) {
          // Unpacked from the stored blob: an earlier pull downloaded it, or another image shares it.
          staging = this.unpackStored(layer, i);
        } else if (download) {
          // The same blob twice in one image (e.g. two empty layers): the first download serves both.
          staging = download.then((staged) => this.unpackFile(staged.file, i));
        } else {
          const streamed = this.downloadAndUnpack(layer, i);
          this.downloads.set(layer.digest, this.track(streamed.then((r) => r.blob)));
          staging = streamed.then((r) => r.layer);
        }
        this.track(
          staging.then((staged) => {
            this.stagedLayers[i] = staged;
            this.finish(i, 'done');
          }),
        );
      });
      await Promise.all(this.tasks);
      this.downloaded = await Promise.all(this.downloads.values());
    } catch (e) {
      this.failure ??= e;
      this.controller.abort();
      await Promise.allSettled(this.tasks);
      throw this.failure;
    }
  }

  /**
   * Under the store lock: publish the staged blobs and layers (layers bottom up) and return the image's
   * size, or undefined when something the pull counted on having is gone (removed since stage()), so the
   * pull must stage again. A layer or blob another pull published meanwhile is kept, the copy dropped.
   */
  publish(): number | undefined {
    const { layers, blobs } = this.target;
    const staged = new Set(this.downloaded.map((b) => b.digest));
    for (let i = 0; i < this.chain.length; i++) {
      if (!this.stagedLayers[i] && !layers.get(this.chain[i])) return undefined;
      const digest = this.resolved.layers[i].digest;
      if (!staged.has(digest) && !blobs.has(digest)) return undefined;
    }
    for (const blob of this.downloaded) blobs.commit(blob);
    let size = 0;
    for (let i = 0; i < this.chain.length; i++) {
      const layer = this.stagedLayers[i];
      size += (layer ? layers.commit(layer) : layers.get(this.chain[i])!).size;
    }
    return size;
  }

  /** Remove the pull's directory, with whatever it still holds. */
  discard(): void {
    if (this.work) fs.rmSync(this.work, { recursive: true, force: true });
  }

  /** A task of this pull: awaited together, and a failure of one must not count as unhandled before that. */
  private track<T>(p: Promise<T>): Promise<T> {
    p.catch(() => {});
    this.tasks.push(p);
    return p;
  }

  /** A blob only (its layer is in the store already), verified while it streams to its staging file. */
  private async download(layer: Descriptor): Promise<StagedBlob> {
    return this.fetching(layer, async (body, file, expected) => {
      const staged = await stageVerified(body, expected, file, (n) => this.progress(layer, 'downloading', n));
      this.progress(layer, 'verified');
      return staged;
    });
  }

  /**
   * The blob streamed to its staging file and, in the same pass, decompressed and unpacked. The unpack
   * can only complete on a verified body (BlobDownload fails the stream's end otherwise), and when it
   * fails before the end, the rest of the body decides: tampered data is a digest mismatch and a body
   * that broke off is a failed download, whatever the unpacker made of either.
   */
  private async downloadAndUnpack(layer: Descriptor, i: number): Promise<{ blob: StagedBlob; layer: StagedLayer }> {
    return this.fetching(layer, async (body, file, expected) => {
      const download = await BlobDownload.start(body, expected, file, (n) => this.progress(layer, 'downloading', n));
      try {
        let staged: StagedLayer;
        try {
          staged = await this.unpack(Readable.from(download.chunks(), { objectMode: false, highWaterMark: AHEAD_BYTES }), i);
        } catch (e) {
          // A body that broke off or does not match its digest explains whatever the unpacker saw.
          await download.rest();
          throw e;
        }
        try {
          const blob = await download.finish();
          this.progress(layer, 'verified');
          return { blob, layer: staged };
        } catch (e) {
          fs.rmSync(staged.dir, { recursive: true, force: true });
          throw e;
        }
      } catch (e) {
        await download.discard();
        throw e;
      }
    });
  }

  /** A download slot, the blob's body and its staging file name; the first failure stops the whole pull. */
  private async fetching<T>(
    layer: Descriptor,
    fn: (body: AsyncIterable<Buffer>, file: string, expected: { digest: string; size: number; what: string }) => Promise<T>,
  ): Promise<T> {
    await this.slot();
    try {
      if (this.failure !== undefined) throw this.failure;
      this.progress(layer, 'downloading', 0);
      const body = await this.client.blob(this.repository, layer.digest);
      const file = path.join(this.work, `blob-${layer.digest.slice(7, 23)}`);
      return await fn(body, file, { digest: layer.digest, size: layer.size, what: `layer ${layer.digest} of ${this.source}` });
    } catch (e) {
      // The first failure is the one to report; the aborts it causes in other downloads are not.
      if (this.failure === undefined && !this.controller.signal.aborted) {
        // A connection dropped mid-body surfaces as fetch's bare "terminated": say which download it was.
        this.failure =
          e instanceof BerthError
            ? e
            : new RegistryError('unreachable', `Downloading layer ${layer.digest} from ${this.client.registry} failed: ${causeText(e)}`, {
                cause: e,
              });
        this.controller.abort();
      }
      throw this.failure ?? e;
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** Unpack one layer from the store's blob, or download it again if an rmi removed the blob just now. */
  private unpackStored(layer: Descriptor, i: number): Promise<StagedLayer> {
    const file = this.target.blobs.path(layer.digest);
    if (fs.existsSync(file)) return this.unpackFile(file, i);
    return this.downloadAndUnpack(layer, i).then((r) => {
      this.downloads.set(layer.digest, Promise.resolve(r.blob));
      return r.layer;
    });
  }

  /** Unpack one layer from a verified blob file. */
  private async unpackFile(file: string, i: number): Promise<StagedLayer> {
    this.progress(this.resolved.layers[i], 'extracting');
    try {
      return await this.unpack(await openArchive(file), i);
    } catch (e) {
      this.failure ??= e;
      this.controller.abort();
      throw e;
    }
  }

  /** Unpack one layer's (compressed) tar, checking the uncompressed stream against the config's diff ID. */
  private async unpack(compressed: Readable, i: number): Promise<StagedLayer> {
    const diffId = this.config.rootfs.diff_ids[i];
    const layer = this.resolved.layers[i];
    const tar = uncompressed(compressed, `layer ${layer.digest} of ${this.source}`, { maxBytes: this.maxLayerSize });
    const checked = verifiedStream(tar, { digest: diffId, what: `uncompressed layer ${layer.digest} of ${this.source} (diff ID)` });
    return this.target.layers.stage(checked, diffId, this.chain[i], i === 0 ? null : this.chain[i - 1], this.work);
  }

  /** Layer i is complete: report it, and every layer above it that was only waiting for the ones below. */
  private finish(i: number, status: 'exists' | 'done'): void {
    if (status === 'exists') this.progress(this.resolved.layers[i], status);
    this.finished[i] = status;
    for (; this.finished[this.reported] !== undefined; this.reported++) {
      if (this.finished[this.reported] === 'done') this.progress(this.resolved.layers[this.reported], 'done');
    }
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
