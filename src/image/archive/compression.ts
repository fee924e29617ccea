import { Readable } from 'node:stream';
// node:zlib loads on first use: `berth run` never decompresses.
const zlib = (): typeof import('node:zlib') => require('node:zlib');
import { BerthError } from '../../errors';
import { formatSize, MAX_LAYER_SIZE_ENV } from '../limits';
import { unzstd } from './zstd';

type Compression = 'gzip' | 'zstd' | 'xz' | 'bzip2' | 'none';

const MAGIC: Array<[Exclude<Compression, 'none'>, number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
];
const HEAD_BYTES = 6;
/**
 * How far each stage of an unpack may run ahead of the next: decompression runs on the thread pool, and
 * with a stream's default 16 kB it would mostly wait for the tar writer, and the writer for it.
 */
export const AHEAD_BYTES = 4 << 20;
const GUNZIP_CHUNK = 256 << 10;

export function detectCompression(head: Buffer): Compression {
  for (const [kind, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return kind;
  }
  return 'none';
}

interface UncompressedOptions {
  /** Bytes the uncompressed stream may have: one more fails it (see limits.ts). Default: no limit. */
  maxBytes?: number;
}

/**
 * The tar bytes behind `input`, decompressing gzip or zstd transparently. Layer digests (diff IDs) are defined
 * over the uncompressed stream, so callers hash what this yields, not what they read from disk. Memory stays
 * bounded whatever the data: both decoders yield as they go and wait for the consumer.
 */
export function uncompressed(input: Readable, what = 'archive', opts: UncompressedOptions = {}): Readable {
  return Readable.from(decompress(input, what, opts.maxBytes), { objectMode: false, highWaterMark: AHEAD_BYTES });
}

async function* decompress(input: Readable, what: string, maxBytes: number | undefined): AsyncGenerator<Buffer> {
  try {
    if (maxBytes === undefined) {
      yield* decompressOpened(input, what);
      return;
    }
    let total = 0;
    for await (const chunk of decompressOpened(input, what)) {
      total += chunk.length;
      if (total > maxBytes) {
        throw new BerthError(
          'INVALID_ARGUMENT',
          `The ${what} inflates past the ${formatSize(maxBytes)} limit of uncompressed layer size; raise it with ${MAX_LAYER_SIZE_ENV} (like 100g)`,
        );
      }
      yield chunk;
    }
  } finally {
    // Also when the consumer gave up early: release the file descriptor now, not at garbage collection.
    input.destroy();
  }
}

async function* decompressOpened(input: Readable, what: string): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  let done = false;
  while (head.length < HEAD_BYTES && !done) {
    const r = await it.next();
    if (r.done) done = true;
    else head = Buffer.concat([head, r.value]);
  }
  const kind = detectCompression(head);
  async function* whole(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    while (!done) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  if (kind === 'none') {
    yield* whole();
    return;
  }
  if (kind === 'zstd') {
    yield* unzstd(whole(), what);
    return;
  }
  if (kind !== 'gzip') {
    throw new BerthError(
      'UNSUPPORTED',
      `The ${what} is ${kind}-compressed; berth reads plain, gzip- or zstd-compressed tar, so decompress it first`,
    );
  }
  // Large output chunks: each is a round trip to the thread pool and a pass down the unpack pipeline,
  // and at the default 16 kB those made a pull's main thread mostly wait.
  const gunzip = zlib().createGunzip({ chunkSize: GUNZIP_CHUNK });
  const source = Readable.from(whole());
  source.on('error', (e) => gunzip.destroy(e));
  source.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (e) {
    // zlib's own failures carry Z_* codes; anything else (a read error) is not about the data.
    if (String((e as NodeJS.ErrnoException).code ?? '').startsWith('Z_')) {
      throw new BerthError('INVALID_ARGUMENT', `The ${what} is not valid gzip data`, { cause: e });
    }
    throw e;
  } finally {
    source.destroy();
  }
}
