import * as fs from 'node:fs';
import { Header, Pax, type HeaderData } from 'tar';
import { paxRecord, XATTR_RECORD_PREFIX, type Xattrs } from './pax-xattrs';
// Loaded on first use, as in blobs.ts: `berth run` never hashes.
const crypto = (): typeof import('node:crypto') => require('node:crypto');

const BLOCK = 512;
const COPY_CHUNK = 1 << 20;

/** What a tar entry records besides its name: the lstat fields berth keeps. */
export interface EntryAttributes {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  /** Extended attributes, written as PAX SCHILY.xattr.* records (GNU tar's and docker's form). */
  xattrs?: Xattrs;
}

/**
 * A tar (ustar with PAX extended headers for long names, big numbers and extended attributes) written to a file descriptor,
 * hashed on the way: a layer's diff ID is the sha256 of exactly these bytes. node-tar encodes the headers;
 * berth decides the entries, because node-tar's Pack reads the filesystem itself and knows neither overlay
 * whiteouts nor opaque directories. Synchronous writes, as in layer-writer.ts: layers are thousands of
 * small files, and a thread-pool round trip per call costs more than the copy.
 */
export class TarWriter {
  private readonly hash = crypto().createHash('sha256');
  private bytes = 0;
  private readonly buf = Buffer.allocUnsafe(COPY_CHUNK);

  constructor(private readonly fd: number) {}

  /** Bytes written so far. */
  get size(): number {
    return this.bytes;
  }

  directory(name: string, a: EntryAttributes): void {
    this.header({ path: name.endsWith('/') ? name : `${name}/`, type: 'Directory', size: 0, ...a });
  }

  /** A regular file whose body is copied from `source` (an absolute path, read without following a symlink). */
  file(name: string, a: EntryAttributes, source: string, size: number): void {
    const fd = fs.openSync(source, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      this.header({ path: name, type: 'File', size, ...a });
      let done = 0;
      while (done < size) {
        let n = fs.readSync(fd, this.buf, 0, Math.min(COPY_CHUNK, size - done), done);
        // A file that shrank while being read (a running container) is padded with zeros, so the entry
        // still has the size its header announced and the archive stays valid.
        if (n === 0) {
          n = Math.min(COPY_CHUNK, size - done);
          this.buf.fill(0, 0, n);
        }
        this.write(this.buf.subarray(0, n));
        done += n;
      }
      this.pad(size);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** A regular file from bytes in memory (OCI layout JSON, small blobs). */
  bytesFile(name: string, data: Buffer, a: Partial<EntryAttributes> = {}): void {
    this.header({ path: name, type: 'File', size: data.length, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), ...a });
    this.write(data);
    this.pad(data.length);
  }

  symlink(name: string, a: EntryAttributes, target: string): void {
    this.header({ path: name, type: 'SymbolicLink', linkpath: target, size: 0, ...a });
  }

  hardlink(name: string, a: EntryAttributes, target: string): void {
    this.header({ path: name, type: 'Link', linkpath: target, size: 0, ...a });
  }

  device(name: string, a: EntryAttributes, kind: 'CharacterDevice' | 'BlockDevice' | 'FIFO', major = 0, minor = 0): void {
    this.header({ path: name, type: kind, size: 0, devmaj: major, devmin: minor, ...a });
  }

  /** The end-of-archive marker (two zero blocks). Returns the archive's digest and size. */
  finish(): { digest: string; size: number } {
    this.write(Buffer.alloc(BLOCK * 2));
    return { digest: `sha256:${this.hash.digest('hex')}`, size: this.bytes };
  }

  private header(data: HeaderData & { path: string; xattrs?: Xattrs }): void {
    // Whole seconds: sub-second mtimes would need a PAX record on every entry for no use to a layer.
    const mtime = data.mtime ? new Date(Math.floor(data.mtime.getTime() / 1000) * 1000) : new Date(0);
    const { xattrs, ...fields } = data;
    const h = new Header({ ...fields, mtime });
    const needPax = h.encode();
    const { path, linkpath, size, uid, gid } = data;
    if (xattrs && xattrs.size > 0) {
      // node-tar's Pax encodes only its own fields, as text: the records of binary values are built here.
      const standard = needPax ? new Pax({ path, linkpath, size, uid, gid, mtime }).encodeBody() : '';
      const records = [...xattrs].map(([name, value]) => paxRecord(`${XATTR_RECORD_PREFIX}${name}`, value));
      this.paxHeader(path, Buffer.concat([Buffer.from(standard), ...records]));
    } else if (needPax) {
      this.write(new Pax({ path, linkpath, size, uid, gid, mtime }).encode());
    }
    this.write(h.block!);
  }

  /** An 'x' header whose body is `body`, named as node-tar and GNU tar name theirs. */
  private paxHeader(path: string, body: Buffer): void {
    const block = Buffer.alloc(BLOCK);
    const base = path.replace(/\/+$/, '').split('/').pop() ?? '';
    new Header({
      path: `PaxHeader/${base}`.slice(0, 99),
      mode: 0o644,
      size: body.length,
      mtime: new Date(0),
      type: 'ExtendedHeader',
    }).encode(block);
    this.write(block);
    this.write(body);
    this.pad(body.length);
  }

  private pad(size: number): void {
    const rest = size % BLOCK;
    if (rest) this.write(Buffer.alloc(BLOCK - rest));
  }

  private write(data: Buffer): void {
    this.hash.update(data);
    let off = 0;
    while (off < data.length) {
      try {
        off += fs.writeSync(this.fd, data, off, data.length - off);
      } catch (e) {
        // A non-blocking pipe (stdout of `berth export | ...`) that is full: wait for the reader.
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
    this.bytes += data.length;
  }
}
