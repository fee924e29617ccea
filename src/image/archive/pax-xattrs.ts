import type { Header as HeaderClass, Pax as PaxClass, ReadEntry } from 'tar';
import { BerthError } from '../../errors';

/** The PAX record GNU tar, bsdtar and docker (Go's archive/tar) write for each extended attribute. */
export const XATTR_RECORD_PREFIX = 'SCHILY.xattr.';

const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);
/** node-tar's own limit: a bigger metadata entry is ignored by it, and tarEntries fails on that. */
const MAX_META_BYTES = 1 << 20;
const META_TYPES = new Set([
  'ExtendedHeader',
  'OldExtendedHeader',
  'GlobalExtendedHeader',
  'NextFileHasLongPath',
  'OldGnuLongPath',
  'NextFileHasLongLinkpath',
]);

/** Extended attributes of one archive entry, by name, as raw bytes. */
export type Xattrs = Map<string, Buffer>;

interface EntryRecord {
  cksum: number | undefined;
  size: number | undefined;
  xattrs: Xattrs | undefined;
}

const byEntry = new WeakMap<ReadEntry, Xattrs>();

/** The SCHILY.xattr.* records of an entry read by tarEntries, or undefined when it has none. */
export function entryXattrs(entry: ReadEntry): Xattrs | undefined {
  return byEntry.get(entry);
}

/**
 * node-tar parses PAX headers into its own few fields and drops every other record; it also decodes the
 * records as UTF-8 text, which would mangle binary values such as security.capability's vfs_cap_data.
 * This reader walks the same bytes the parser is fed, block by block, and keeps each entry's
 * SCHILY.xattr.* records as raw bytes. It decodes headers with node-tar's own Header and Pax classes,
 * so both agree on where every entry's body ends; `attach` still checks each entry against the header
 * this reader saw (checksum, size) and fails rather than give an entry another's attributes.
 */
export class PaxXattrReader {
  private readonly Header: typeof HeaderClass;
  private readonly Pax: typeof PaxClass;
  private readonly block = Buffer.alloc(BLOCK);
  private filled = 0;
  /** Bytes of the current entry's body (and padding) still to pass. */
  private skip = 0;
  /** The body of a metadata entry being collected, and how many of its bytes are still to come. */
  private meta: { type: string; parts: Buffer[]; remain: number } | undefined;
  private ex: Record<string, unknown> | undefined;
  private gex: Record<string, unknown> | undefined;
  private xattrs: Xattrs | undefined;
  private sawNullBlock = false;
  private ended = false;
  /** A header node-tar will refuse too: nothing this reader says past it is trustworthy. */
  private lost = false;
  private readonly records: EntryRecord[] = [];

  constructor(tar: typeof import('tar')) {
    this.Header = tar.Header;
    this.Pax = tar.Pax;
  }

  write(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this.ended && !this.lost) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - off);
        if (this.meta && this.meta.remain > 0) {
          const body = Math.min(n, this.meta.remain);
          this.meta.parts.push(Buffer.from(chunk.subarray(off, off + body)));
          this.meta.remain -= body;
        }
        this.skip -= n;
        off += n;
        if (this.skip === 0 && this.meta) this.endMeta();
        continue;
      }
      if (this.filled === 0 && off + BLOCK <= chunk.length) {
        // the usual case: the whole header is in this chunk, no copy needed
        this.header(chunk.subarray(off, off + BLOCK));
        off += BLOCK;
        continue;
      }
      const n = Math.min(BLOCK - this.filled, chunk.length - off);
      chunk.copy(this.block, this.filled, off, off + n);
      this.filled += n;
      off += n;
      if (this.filled === BLOCK) {
        this.filled = 0;
        this.header(this.block);
      }
    }
  }

  /** Give `entry` (the parser's next entry) the attributes its headers carried. */
  attach(entry: ReadEntry): void {
    const rec = this.records.shift();
    if (!rec || rec.cksum !== entry.header.cksum || rec.size !== entry.header.size) {
      throw new BerthError(
        'INTERNAL',
        `Cannot read the extended attributes of layer entry ${JSON.stringify(entry.path)}: the archive's headers were read out of step`,
      );
    }
    if (rec.xattrs) byEntry.set(entry, rec.xattrs);
  }

  private header(block: Buffer): void {
    if (block.equals(ZERO_BLOCK)) {
      if (this.sawNullBlock) this.ended = true;
      this.sawNullBlock = true;
      return;
    }
    this.sawNullBlock = false;
    const plain = this.ex === undefined && this.gex === undefined ? plainEntry(block) : undefined;
    if (plain) {
      this.skip = BLOCK * Math.ceil((plain.size ?? 0) / BLOCK);
      this.records.push({ cksum: plain.cksum, size: plain.size, xattrs: this.xattrs });
      this.xattrs = undefined;
      return;
    }
    let h: HeaderClass;
    try {
      h = new this.Header(block, 0, this.ex as never, this.gex as never);
    } catch {
      this.lost = true;
      return;
    }
    if (!h.cksumValid || h.type === undefined) {
      this.lost = true;
      return;
    }
    const size = h.size ?? 0;
    this.skip = BLOCK * Math.ceil(size / BLOCK);
    if (META_TYPES.has(h.type)) {
      if (size > MAX_META_BYTES) this.lost = true;
      else if (size > 0) this.meta = { type: h.type, parts: [], remain: size };
      return;
    }
    this.records.push({ cksum: h.cksum, size: h.size, xattrs: this.xattrs });
    this.ex = undefined;
    this.xattrs = undefined;
  }

  /** What node-tar's parser does with a finished metadata entry, plus the xattrs it drops. */
  private endMeta(): void {
    const { type, parts } = this.meta!;
    this.meta = undefined;
    const body = Buffer.concat(parts);
    const text = body.toString();
    switch (type) {
      case 'ExtendedHeader':
      case 'OldExtendedHeader':
        this.ex = this.Pax.parse(text, this.ex as never, false) as unknown as Record<string, unknown>;
        for (const [name, value] of xattrRecords(body)) (this.xattrs ??= new Map()).set(name, value);
        break;
      case 'GlobalExtendedHeader':
        // Attributes in a global header would apply to every later entry; no tar writer berth knows
        // of puts them there, and a layer is better read without such a surprise.
        this.gex = this.Pax.parse(text, this.gex as never, true) as unknown as Record<string, unknown>;
        break;
      case 'NextFileHasLongLinkpath':
        this.ex = { ...(this.ex ?? {}), linkpath: text.replace(/\0.*/, '') };
        break;
      default: // the GNU long names
        this.ex = { ...(this.ex ?? {}), path: text.replace(/\0.*/, '') };
    }
  }
}

/** Type flags of entries with no metadata entry of their own ('\0' is an old file, as '0'). */
const PLAIN_TYPES = new Set([0x00, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37]);

/**
 * A number field as node-tar's Header decodes it: parseInt(text up to the first NUL, trimmed, 8), here
 * without making a string (this runs twice per entry). Undefined where parseInt gives NaN.
 */
function octalField(block: Buffer, off: number, size: number): number | undefined {
  const end = off + size;
  let i = off;
  while (i < end && (block[i] === 0x20 || (block[i] >= 0x09 && block[i] <= 0x0d))) i++;
  let sign = 1;
  if (i < end && (block[i] === 0x2b || block[i] === 0x2d)) sign = block[i++] === 0x2d ? -1 : 1;
  let n = 0;
  const first = i;
  for (; i < end && block[i] >= 0x30 && block[i] <= 0x37; i++) n = n * 8 + (block[i] - 0x30);
  return i === first ? undefined : sign * n;
}

/**
 * checksum and body size of a plain entry header with no pending extended header, decoded as node-tar's
 * Header decodes them, without the cost of building one (most of this reader's time otherwise): a
 * directory, or an old tar's file named with a trailing slash, has no body. Undefined for anything
 * less common (metadata types, base-256 numbers): the caller then asks Header itself.
 */
function plainEntry(block: Buffer): { cksum: number | undefined; size: number | undefined } | undefined {
  const type = block[156];
  if (!PLAIN_TYPES.has(type) || block[124] & 0x80 || block[148] & 0x80) return undefined;
  const cksum = octalField(block, 148, 12);
  if (type === 0x35) return { cksum, size: 0 };
  if (type === 0x30 || type === 0x00) {
    const nul = block.indexOf(0, 0);
    const nameEnd = nul < 0 || nul > 100 ? 100 : nul;
    if (nameEnd > 0 && block[nameEnd - 1] === 0x2f) return { cksum, size: 0 };
  }
  const size = octalField(block, 124, 12);
  return { cksum, size: size !== undefined && size < 0 ? undefined : size };
}

/**
 * The SCHILY.xattr.NAME=VALUE records of a PAX header body, values as raw bytes. A record is
 * "LEN KEY=VALUE\n" with LEN counting the whole record, so a value may hold any byte, "=" and
 * newlines included. A malformed record ends the reading, as it ends node-tar's.
 */
export function xattrRecords(body: Buffer): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    if (space < 0 || space - pos > 20) break;
    const len = Number(body.subarray(pos, space).toString('latin1'));
    if (!Number.isInteger(len) || len <= space - pos + 1 || pos + len > body.length || body[pos + len - 1] !== 0x0a) break;
    const record = body.subarray(space + 1, pos + len - 1);
    pos += len;
    const eq = record.indexOf(0x3d);
    if (eq < 0) continue;
    const key = record.subarray(0, eq).toString('utf8');
    if (key.startsWith(XATTR_RECORD_PREFIX) && key.length > XATTR_RECORD_PREFIX.length) {
      out.push([key.slice(XATTR_RECORD_PREFIX.length), Buffer.from(record.subarray(eq + 1))]);
    }
  }
  return out;
}

/** One PAX record, its length prefix counting itself. */
export function paxRecord(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.isBuffer(value) ? value : Buffer.from(value), Buffer.from('\n')]);
  let digits = String(body.length).length;
  if (String(body.length + digits).length > digits) digits++;
  return Buffer.concat([Buffer.from(String(body.length + digits)), body]);
}
