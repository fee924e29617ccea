import * as fs from 'node:fs';
// Loaded on first use, as in blobs.ts: `berth run` never hashes.
const crypto = (): typeof import('node:crypto') => require('node:crypto');
import type { StagedBlob } from '../store/blobs';
import { digestMismatch, type Expected } from '../verify';

/** Bytes written to the blob file but not yet on it; past this the download waits for the disk. */
const MAX_UNWRITTEN = 16 << 20;

/**
 * One blob's body on its way from the registry: every chunk is counted, hashed and written to the
 * staging file as it passes, and handed on to a consumer (the layer unpacker) at the same time. The
 * body's end fails unless the bytes are exactly the expected digest and size, so a consumer that reads
 * to the end never completes on unverified data. A consumer that stops early (the tar did not parse)
 * calls rest(): the remaining bytes are read and checked, so that tampered data is reported as such and
 * not as whatever the unpacker made of it.
 */
export class BlobDownload {
  private readonly hash = crypto().createHash('sha256');
  private readonly it: AsyncIterator<Buffer>;
  private size = 0;
  private unwritten = 0;
  private writing: Promise<void> = Promise.resolve();
  private writeError: unknown;
  /** One read at a time, whoever asks (the consumer or rest()): each chunk is hashed exactly once, in order. */
  private reading: Promise<Buffer | undefined> = Promise.resolve(undefined);
  private ended = false;
  private mismatch: Error | undefined;
  /** The body broke off: its iterator would now report a clean end, which must not pass for one. */
  private readError: unknown;
  private flushed: Promise<void> | undefined;

  private constructor(
    body: AsyncIterable<Buffer>,
    private readonly expected: Expected,
    private readonly fh: fs.promises.FileHandle,
    readonly file: string,
    private readonly onBytes?: (n: number) => void,
  ) {
    this.it = body[Symbol.asyncIterator]();
  }

  /** Create the staging file (it must not exist) for `body`. */
  static async start(body: AsyncIterable<Buffer>, expected: Expected, file: string, onBytes?: (n: number) => void): Promise<BlobDownload> {
    const fh = await fs.promises.open(file, 'wx', 0o644);
    return new BlobDownload(body, expected, fh, file, onBytes);
  }

  /** The body's chunks, each already hashed and on its way to the file; throws at the end on a mismatch. */
  async *chunks(): AsyncGenerator<Buffer> {
    for (;;) {
      const chunk = await this.next();
      if (chunk === undefined) return;
      yield chunk;
    }
  }

  /** Read whatever the consumer left and verify the whole: throws the mismatch, if any. */
  async rest(): Promise<void> {
    while ((await this.next()) !== undefined);
  }

  /** The verified blob, on disk (fsynced) and closed. Call after the body was read to its end. */
  async finish(): Promise<StagedBlob> {
    await this.rest();
    await this.flush();
    await this.fh.close();
    return { digest: this.expected.digest, size: this.size, file: this.file };
  }

  /** Remove the staging file and stop reading the body. */
  async discard(): Promise<void> {
    await this.writing.catch(() => {});
    await this.fh.close().catch(() => {});
    fs.rmSync(this.file, { force: true });
    await this.it.return?.().catch(() => {});
  }

  private next(): Promise<Buffer | undefined> {
    const r = this.reading.then(() => this.step());
    this.reading = r.catch(() => undefined);
    return r;
  }

  private async step(): Promise<Buffer | undefined> {
    if (this.mismatch) throw this.mismatch;
    if (this.readError !== undefined) throw this.readError;
    if (this.ended) return undefined;
    if (this.writeError !== undefined) throw this.writeError;
    if (this.unwritten > MAX_UNWRITTEN) await this.writing;
    let r: IteratorResult<Buffer>;
    try {
      r = await this.it.next();
    } catch (e) {
      this.readError = e;
      throw e;
    }
    if (r.done) {
      this.ended = true;
      const digest = `sha256:${this.hash.digest('hex')}`;
      if (digest !== this.expected.digest || (this.expected.size !== undefined && this.size !== this.expected.size)) {
        this.mismatch = digestMismatch(this.expected, digest, this.size);
        throw this.mismatch;
      }
      // The fsync starts now, while the consumer finishes with the last chunks.
      void this.flush().catch(() => {});
      return undefined;
    }
    const buf = r.value;
    this.size += buf.length;
    if (this.expected.size !== undefined && this.size > this.expected.size) {
      this.mismatch = digestMismatch(this.expected, 'unknown', this.size);
      throw this.mismatch;
    }
    this.hash.update(buf);
    this.write(buf);
    this.onBytes?.(this.size);
    return buf;
  }

  /** Queued behind the previous write: the thread pool writes while the next chunk is unpacked. */
  private write(buf: Buffer): void {
    this.unwritten += buf.length;
    this.writing = this.writing.then(async () => {
      try {
        let off = 0;
        while (off < buf.length) off += (await this.fh.write(buf, off, buf.length - off)).bytesWritten;
      } catch (e) {
        this.writeError ??= e;
      } finally {
        this.unwritten -= buf.length;
      }
    });
  }

  private flush(): Promise<void> {
    this.flushed ??= (async () => {
      await this.writing;
      if (this.writeError !== undefined) throw this.writeError;
      await this.fh.sync();
    })();
    return this.flushed;
  }
}
