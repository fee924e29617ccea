import * as fs from 'node:fs';
import { Readable } from 'node:stream';
// Loaded on first use, as in blobs.ts: `berth run` never hashes.
const crypto = (): typeof import('node:crypto') => require('node:crypto');
import { BerthError } from '../errors';
import type { StagedBlob } from './store/blobs';
import { AHEAD_BYTES } from './archive/compression';

export interface Expected {
  digest: string;
  /** Bytes the descriptor promises; more is refused as soon as it arrives. */
  size?: number;
  /** Names the blob and where it came from, for the error: "layer sha256:ab… of 127.0.0.1:5000/busybox". */
  what: string;
}

export function digestMismatch(expected: Expected, actual: string, size: number): BerthError {
  const got = expected.size !== undefined && size !== expected.size ? `${size} bytes instead of ${expected.size}` : `digest ${actual}`;
  return new BerthError(
    'DIGEST_MISMATCH',
    `The ${expected.what} does not match its digest ${expected.digest} (received ${got}): the registry sent corrupt or tampered data, and nothing of it was kept`,
  );
}

/**
 * Write `input` to `file` (created, must not exist), hashing on the way, then fsync. `onChunk` sees the
 * running size before each chunk is written and `accept` the result before it is synced; whatever
 * throws, the file is removed, so a refused blob never outlives the call.
 */
export async function writeHashed(
  input: AsyncIterable<Buffer>,
  file: string,
  opts: { onChunk?: (size: number) => void; accept?: (digest: string, size: number) => void } = {},
): Promise<StagedBlob> {
  const hash = crypto().createHash('sha256');
  let size = 0;
  const fh = await fs.promises.open(file, 'wx', 0o644);
  try {
    for await (const chunk of input) {
      const buf = chunk as Buffer;
      size += buf.length;
      opts.onChunk?.(size);
      hash.update(buf);
      let off = 0;
      while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
    }
    const digest = `sha256:${hash.digest('hex')}`;
    opts.accept?.(digest, size);
    await fh.sync();
    await fh.close();
    return { digest, size, file };
  } catch (e) {
    await fh.close().catch(() => {});
    fs.rmSync(file, { force: true });
    throw e;
  }
}

/** writeHashed that keeps the file only if its content is exactly the expected digest and size. */
export function stageVerified(
  input: AsyncIterable<Buffer>,
  expected: Expected,
  file: string,
  onBytes?: (n: number) => void,
): Promise<StagedBlob> {
  return writeHashed(input, file, {
    onChunk: (size) => {
      // more than the descriptor promised is refused as soon as it arrives
      if (expected.size !== undefined && size > expected.size) throw digestMismatch(expected, 'unknown', size);
      onBytes?.(size);
    },
    accept: (digest, size) => {
      if (digest !== expected.digest || (expected.size !== undefined && size !== expected.size))
        throw digestMismatch(expected, digest, size);
    },
  });
}

/**
 * `input` passed through unchanged, failing at its end unless its bytes hash to `expected.digest`. Whoever
 * consumes it (the layer unpacker) sees the failure before committing anything.
 */
export function verifiedStream(input: AsyncIterable<Buffer>, expected: Expected): Readable {
  async function* check(): AsyncGenerator<Buffer> {
    const hash = crypto().createHash('sha256');
    let size = 0;
    for await (const chunk of input) {
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
    const digest = `sha256:${hash.digest('hex')}`;
    if (digest !== expected.digest) throw digestMismatch({ ...expected, size: undefined }, digest, size);
  }
  return Readable.from(check(), { objectMode: false, highWaterMark: AHEAD_BYTES });
}
