import { BerthError } from '../../errors';
import { formatSize } from '../limits';

/**
 * The largest window berth decodes: 8 MiB, what RFC 8878 recommends decoders support and encoders not
 * exceed, and what zstd levels 1-19 and klauspost/compress (containerd, buildkit, podman) write. fzstd
 * allocates a frame's whole window when the frame starts and moves all of it for every block it decodes,
 * so the window bounds memory (window + ~60 MB measured) and sets the speed: a 128 MiB window (zstd
 * --long) decodes at ~5 MB/s, and a 130 KB bomb with one would burn hours of CPU up to the size cap.
 */
const MAX_ZSTD_WINDOW = 8 << 20;
/** RFC 8878 Block_Maximum_Size. fzstd does not check it: one 4-byte RLE block could claim 2 MiB. */
const MAX_BLOCK = 128 << 10;

type State = 'magic' | 'descriptor' | 'header' | 'blockHeader' | 'blockBody' | 'skip' | 'skipSize';

/**
 * Follows the frame and block structure of a zstd stream (RFC 8878) without decoding it, so that the
 * decoder is fed one block at a time: fzstd decodes every complete block of what it is given before it
 * returns, and a few kilobytes of RLE blocks stand for gigabytes. It also refuses, before fzstd
 * allocates it, a window larger than MAX_ZSTD_WINDOW.
 */
class ZstdFrames {
  private state: State = 'magic';
  /** Bytes of a header being collected (at most 14), and how many it needs. */
  private readonly acc: number[] = [];
  private need = 4;
  /** Bytes of a block body, checksum or skippable frame still to pass. */
  private remaining = 0;
  private lastBlock = false;
  private checksum = false;
  private singleSegment = false;
  private descriptor = 0;

  constructor(private readonly what: string) {}

  /** The end (exclusive) of the next piece of `chunk` from `start` to hand to the decoder: right after a block, or the chunk's end. */
  next(chunk: Uint8Array, start: number): number {
    let at = start;
    while (at < chunk.length) {
      if (this.state === 'blockBody' || this.state === 'skip') {
        const n = Math.min(this.remaining, chunk.length - at);
        at += n;
        this.remaining -= n;
        if (this.remaining > 0) return at;
        if (this.state === 'skip') {
          this.expect('magic', 4);
          continue;
        }
        this.endBlock();
        return at;
      }
      this.acc.push(chunk[at++]);
      if (this.acc.length < this.need) continue;
      const bytes = this.acc.splice(0);
      if (this.onHeader(bytes)) return at;
    }
    return at;
  }

  /** The input ended: it must end between frames. */
  finish(): void {
    if (this.state !== 'magic' || this.acc.length > 0) throw this.invalid('it ends in the middle of a frame');
  }

  /** A complete header field; true when it ended a block (an empty raw block). */
  private onHeader(b: number[]): boolean {
    switch (this.state) {
      case 'magic': {
        if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) this.expect('descriptor', 1);
        else if ((b[0] & 0xf0) === 0x50 && b[1] === 0x2a && b[2] === 0x4d && b[3] === 0x18) this.expect('skipSize', 4);
        else throw this.invalid('a frame has no zstd magic number');
        return false;
      }
      case 'descriptor': {
        const d = b[0];
        if (d & 0x08) throw this.invalid('a frame header sets its reserved bit');
        this.descriptor = d;
        this.singleSegment = ((d >> 5) & 1) === 1;
        this.checksum = ((d >> 2) & 1) === 1;
        const fcsFlag = d >> 6;
        const fcs = fcsFlag === 0 ? (this.singleSegment ? 1 : 0) : 1 << fcsFlag;
        // Never 0: a frame has a window descriptor or else (single segment) a content size.
        this.expect('header', (this.singleSegment ? 0 : 1) + [0, 1, 2, 4][d & 3] + fcs);
        return false;
      }
      case 'header':
        this.checkWindow(b);
        this.expect('blockHeader', 3);
        return false;
      case 'blockHeader': {
        const type = (b[0] >> 1) & 3;
        const size = (b[0] >> 3) | (b[1] << 5) | (b[2] << 13);
        if (type === 3) throw this.invalid('a block has the reserved block type');
        if (size > MAX_BLOCK) throw this.invalid(`a block claims ${size} bytes, more than zstd's 128 KiB`);
        this.lastBlock = (b[0] & 1) === 1;
        this.remaining = type === 1 ? 1 : size;
        this.state = 'blockBody';
        if (this.remaining > 0) return false;
        this.endBlock();
        return true;
      }
      case 'skipSize':
        this.remaining = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
        if (this.remaining === 0) this.expect('magic', 4);
        else this.state = 'skip';
        return false;
      default:
        throw new Error(`unexpected state ${this.state}`);
    }
  }

  /** Window_Size from the window descriptor, or the content size of a single-segment frame. */
  private checkWindow(b: number[]): void {
    let window: number;
    if (!this.singleSegment) {
      const exponent = b[0] >> 3;
      const base = 2 ** (10 + exponent);
      window = base + (base / 8) * (b[0] & 7);
    } else {
      const fcsFlag = this.descriptor >> 6;
      const at = [0, 1, 2, 4][this.descriptor & 3];
      const len = fcsFlag === 0 ? 1 : 1 << fcsFlag;
      window = 0;
      for (let i = len - 1; i >= 0; i--) window = window * 256 + b[at + i];
      if (fcsFlag === 1) window += 256;
    }
    if (window > MAX_ZSTD_WINDOW) {
      throw new BerthError(
        'UNSUPPORTED',
        `The ${this.what} is zstd data that needs a ${formatSize(window)} window to decode, more than the ${formatSize(MAX_ZSTD_WINDOW)} berth accepts (RFC 8878's recommended limit); recompress it without zstd --long or --ultra`,
      );
    }
  }

  private endBlock(): void {
    if (!this.lastBlock) this.expect('blockHeader', 3);
    else if (this.checksum) {
      this.state = 'skip';
      this.remaining = 4;
    } else this.expect('magic', 4);
  }

  private expect(state: State, need: number): void {
    this.state = state;
    this.need = need;
  }

  private invalid(why: string): BerthError {
    return new BerthError('INVALID_ARGUMENT', `The ${this.what} is not valid zstd data (${why})`);
  }
}

/**
 * zstd through fzstd (pure JavaScript): Node 20's zlib has no zstd. fzstd skips the optional frame checksum;
 * callers verify the decompressed bytes against the layer's diff ID instead, which is stronger. The input is
 * fed one block at a time and each block's output is yielded before the next is decoded, so memory stays
 * at one window plus what the consumer buffers, however much a block inflates.
 */
export async function* unzstd(input: AsyncIterable<Buffer>, what: string): AsyncGenerator<Buffer> {
  const { Decompress } = require('fzstd') as typeof import('fzstd');
  const out: Buffer[] = [];
  // Each chunk fzstd hands over is a fresh array (it copies into its own window), so no copy is needed here.
  const stream = new Decompress((chunk) => {
    if (chunk.length > 0) out.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  });
  const frames = new ZstdFrames(what);
  const push = (chunk: Uint8Array, final: boolean): void => {
    try {
      stream.push(chunk, final);
    } catch (e) {
      throw new BerthError('INVALID_ARGUMENT', `The ${what} is not valid zstd data (${(e as Error).message})`, { cause: e });
    }
  };
  for await (const chunk of input) {
    for (let at = 0; at < chunk.length;) {
      const end = frames.next(chunk, at);
      push(chunk.subarray(at, end), false);
      at = end;
      // One at a time: the consumer's backpressure holds the decoder until it wants more.
      while (out.length > 0) yield out.shift()!;
    }
  }
  frames.finish();
  push(new Uint8Array(0), true);
  while (out.length > 0) yield out.shift()!;
}
