import { Readable } from 'node:stream';
// node:zlib loads on first use: `berth run` never decompresses.
const zlib = (): typeof import('node:zlib') => require('node:zlib');
import { BerthError } from '../errors';

export type Compression = 'gzip' | 'zstd' | 'xz' | 'bzip2' | 'none';

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

/**
 * The tar bytes behind `input`, decompressing gzip or zstd transparently. Layer digests (diff IDs) are defined
 * over the uncompressed stream, so callers hash what this yields, not what they read from disk.
 */
export function uncompressed(input: Readable, what = 'archive'): Readable {
  return Readable.from(decompress(input, what), { objectMode: false, highWaterMark: AHEAD_BYTES });
}

async function* decompress(input: Readable, what: string): AsyncGenerator<Buffer> {
  try {
    yield* decompressOpened(input, what);
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
    throw new BerthError('UNSUPPORTED', `The ${what} is ${kind}-compressed; berth reads plain, gzip- or zstd-compressed tar, so decompress it first`);
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

/**
 * zstd through fzstd (pure JavaScript): Node 20's zlib has no zstd. fzstd skips the optional frame checksum;
 * callers verify the decompressed bytes against the layer's diff ID instead, which is stronger.
 */
async function* unzstd(input: AsyncIterable<Buffer>, what: string): AsyncGenerator<Buffer> {
  const { Decompress } = require('fzstd') as typeof import('fzstd');
  const out: Buffer[] = [];
  // Each chunk fzstd hands over is a fresh array (it copies into its own window), so no copy is needed here.
  const stream = new Decompress((chunk) => {
    if (chunk.length > 0) out.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  });
  const push = (chunk: Uint8Array, final: boolean): void => {
    try {
      stream.push(chunk, final);
    } catch (e) {
      throw new BerthError('INVALID_ARGUMENT', `The ${what} is not valid zstd data (${(e as Error).message})`, { cause: e });
    }
  };
  for await (const chunk of input) {
    push(chunk, false);
    yield* out.splice(0);
  }
  push(new Uint8Array(0), true);
  yield* out.splice(0);
}
