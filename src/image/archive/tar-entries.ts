import { Readable } from 'node:stream';
import { once } from 'node:events';
import type { ReadEntry } from 'tar';
import { BerthError } from '../../errors';
import { PaxXattrReader } from './pax-xattrs';
import { quote } from '../../util/quote';

/** node-tar's complaints about the data (bad checksum, truncation, not a tar) become one readable error; others pass. */
function explain(cause: unknown, what: string): unknown {
  const tarCode = (cause as { tarCode?: unknown } | null)?.tarCode;
  if (typeof tarCode !== 'string') return cause;
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new BerthError('INVALID_ARGUMENT', `The ${what} is not a valid tar file (${msg})`, { cause });
}

/**
 * The entries of a tar stream, strictly one at a time and in archive order: node-tar's Parser hands out the
 * next entry only once the current one has ended, so the consumer may do async work per entry (and read
 * the body) without entries overtaking each other. Any malformed header, truncation or entry type the
 * parser would skip silently (GNU sparse files, oversized metadata) fails the iteration instead.
 * Each entry's extended attributes (PAX SCHILY.xattr.*, which node-tar drops) are read alongside:
 * entryXattrs(entry) in pax-xattrs.ts.
 */
export async function* tarEntries(input: Readable, what = 'layer archive'): AsyncGenerator<ReadEntry> {
  // Loaded here, not at the top: node-tar takes ~35 ms to load, and `berth run` never needs it.
  const tar = require('tar') as typeof import('tar');
  const parser = new tar.Parser({ strict: true });
  const xattrs = new PaxXattrReader(tar);
  const queue: ReadEntry[] = [];
  const stop = new AbortController();
  let failure: unknown;
  let ended = false;
  let closed = false; // the consumer is done (or threw): later errors, like our own abort, are noise
  let current: ReadEntry | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let entries = 0;
  let nonZero = false; // any byte of the input not zero: an archive of end-of-archive blocks only is empty, not bad
  const fail = (e: unknown): void => {
    if (failure !== undefined || closed) return;
    // node-tar calls an archive without a single entry unrecognized; an empty layer (what docker
    // commits for an unchanged container, and some images carry) is exactly that
    if ((e as { tarCode?: unknown } | null)?.tarCode === 'TAR_BAD_ARCHIVE' && entries === 0 && !nonZero) return;
    failure = explain(e, what) ?? new Error('tar stream failed');
    stop.abort();
    input.destroy();
    current?.destroy(failure as Error); // a consumer waiting for body bytes that will never come gets the real cause
    notify();
  };

  parser.on('entry', (e: ReadEntry) => {
    // The error reaches a consumer reading the body through its iterator; without a listener of our own,
    // destroying an entry nobody is reading at that moment would be an uncaught 'error' event.
    e.on('error', () => {});
    try {
      xattrs.attach(e);
    } catch (err) {
      fail(err);
      return;
    }
    entries++;
    queue.push(e);
    notify();
  });
  parser.on('ignoredEntry', (e: ReadEntry) =>
    fail(new BerthError('UNSUPPORTED', `Layer entry ${quote(e.path)} has tar type ${quote(e.type)}, which berth cannot unpack`)),
  );
  parser.on('error', fail);
  parser.on('end', () => {
    ended = true;
    notify();
  });
  // node-tar appends whatever follows the end-of-archive blocks to one growing buffer (a copy per chunk):
  // a layer of gigabytes of zeros after its end cost that much memory and quadratic time.
  let eof = false;
  parser.on('eof', () => (eof = true));

  const feeding = (async () => {
    for await (const chunk of input) {
      if (failure !== undefined) return;
      // Past the end the bytes are still read, not parsed: the checks upstream (digest, diff ID) hash them.
      if (eof) continue;
      if (!nonZero && entries === 0) nonZero = (chunk as Buffer).some((b) => b !== 0);
      // before the parser: the reader must have seen an entry's headers when the parser emits it
      xattrs.write(chunk as Buffer);
      if (!parser.write(chunk as Buffer)) await once(parser, 'drain', { signal: stop.signal });
    }
    parser.end();
  })().catch(fail);

  try {
    for (;;) {
      if (failure !== undefined) throw failure;
      const entry = queue.shift();
      if (entry) {
        current = entry;
        yield entry;
        current = undefined;
        entry.resume(); // bodiless or skipped entries must still end, or the parser waits forever
        continue;
      }
      if (ended) break;
      await new Promise<void>((r) => (wake = r));
    }
    await feeding;
    if (failure !== undefined) throw failure;
  } finally {
    closed = true;
    if (!ended) stop.abort();
    input.destroy();
  }
}
