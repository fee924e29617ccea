import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReadEntry } from 'tar';
import { BerthError } from '../errors';
import { clearFor, lstatOrUndefined, memberComponents, parentDir, refuseEntry } from './safe-path';
import { makeNode, makeWhiteout, markOpaque, type NodeKind } from './special-files';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

interface Attributes {
  mode: number;
  uid: number;
  gid: number;
  atime: Date;
  mtime: Date;
}

export interface LayerWriterOptions {
  /** Give entries the archive's numeric owners. Only root can; default: whether we are root. */
  preserveOwner?: boolean;
}

/**
 * Writes tar entries into one layer directory, as overlayfs expects a lower/upper dir to look: OCI
 * whiteouts become 0/0 character devices and opaque xattrs. It never follows a symlink that the archive
 * itself could have planted: ancestors are checked with lstat, existing names are unlinked before being
 * replaced, and files are opened O_EXCL|O_NOFOLLOW.
 */
export class LayerWriter {
  /** Bytes of regular file content written. */
  size = 0;
  /** Things skipped on purpose (device nodes when not root), one readable line each. */
  readonly notes: string[] = [];
  private readonly root: string;
  private readonly privileged: boolean;
  private readonly preserveOwner: boolean;
  /** Directory attributes are applied last: creating children would bump mtimes, and a 0555 dir would block them. */
  private readonly dirs = new Map<string, Attributes>();
  /** Directories below root known to be real directories (see parentDir). */
  private readonly verified = new Set<string>();

  constructor(root: string, opts: LayerWriterOptions = {}) {
    this.root = root;
    this.privileged = process.getuid?.() === 0;
    this.preserveOwner = (opts.preserveOwner ?? this.privileged) && this.privileged;
  }

  async write(entry: ReadEntry): Promise<void> {
    const parts = memberComponents(entry.path, entry.path);
    const base = parts[parts.length - 1] ?? '';
    if (base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(entry, parts);
    if (parts.length === 0) {
      if (entry.type !== 'Directory') throw refuseEntry(entry.path, 'only a directory can stand for the layer root');
      this.dirs.set('', attributes(entry, 0o755));
      return;
    }
    const abs = path.join(parentDir(this.root, parts, entry.path, true, 'it', this.verified), base);
    switch (entry.type) {
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        return this.file(entry, abs);
      case 'Directory':
      case 'GNUDumpDir':
        return this.directory(entry, abs, parts);
      case 'SymbolicLink':
        return this.symlink(entry, abs);
      case 'Link':
        return this.hardlink(entry, abs, parts);
      case 'CharacterDevice':
      case 'BlockDevice':
      case 'FIFO':
        return this.node(entry, abs);
      default:
        throw new BerthError('UNSUPPORTED', `Layer entry "${entry.path}" has tar type "${entry.type}", which berth cannot unpack`);
    }
  }

  /** Apply the deferred directory attributes, deepest first so a restrictive parent never blocks a child. */
  finish(): void {
    if (!this.dirs.has('')) this.dirs.set('', { mode: 0o755, uid: 0, gid: 0, atime: new Date(), mtime: new Date() });
    const byDepth = [...this.dirs.entries()].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, a] of byDepth) {
      const abs = path.join(this.root, rel);
      if (this.preserveOwner) fs.lchownSync(abs, a.uid, a.gid);
      fs.chmodSync(abs, a.mode);
      fs.utimesSync(abs, a.atime, a.mtime);
    }
  }

  private async file(entry: ReadEntry, abs: string): Promise<void> {
    clearFor(abs, false, this.verified);
    const a = attributes(entry, 0o644);
    // 0600 until the body is complete; the real mode is set after chown, since chown clears setuid/setgid.
    // Synchronous calls: layers are thousands of small files, and a thread-pool round trip per call
    // made unpacking three times slower than GNU tar.
    const fd = fs.openSync(abs, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of entry) {
        const buf = chunk as Buffer;
        let off = 0;
        while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
        this.size += buf.length;
      }
      if (this.preserveOwner) fs.fchownSync(fd, a.uid, a.gid);
      fs.fchmodSync(fd, a.mode);
      fs.futimesSync(fd, a.atime, a.mtime);
    } finally {
      fs.closeSync(fd);
    }
  }

  private directory(entry: ReadEntry, abs: string, parts: string[]): void {
    // An existing directory is merged into, as tar does; anything else at that name is replaced.
    if (!clearFor(abs, true, this.verified)) fs.mkdirSync(abs, 0o700);
    this.dirs.set(parts.join('/'), attributes(entry, 0o755));
  }

  private symlink(entry: ReadEntry, abs: string): void {
    // The link text is data: "link -> /etc" is fine to create. What is refused is writing through it later.
    clearFor(abs, false, this.verified);
    fs.symlinkSync(entry.linkpath ?? '', abs);
    const a = attributes(entry, 0o777);
    if (this.preserveOwner) fs.lchownSync(abs, a.uid, a.gid);
    fs.lutimesSync(abs, a.atime, a.mtime);
  }

  private hardlink(entry: ReadEntry, abs: string, parts: string[]): void {
    const linkpath = entry.linkpath ?? '';
    const targetParts = memberComponents(linkpath, entry.path);
    if (targetParts.length === 0) throw refuseEntry(entry.path, 'its link target is the layer root');
    const what = `its link target "${linkpath}"`;
    const target = path.join(parentDir(this.root, targetParts, entry.path, false, what, this.verified), targetParts[targetParts.length - 1]);
    const st = lstatOrUndefined(target);
    if (!st) throw refuseEntry(entry.path, `${what} does not exist in the layer`);
    if (st.isDirectory()) throw refuseEntry(entry.path, `${what} is a directory`);
    if (targetParts.join('/') === parts.join('/')) return; // a link to itself: nothing to do
    clearFor(abs, false, this.verified);
    // link(2) does not follow a symlink target: linking to a symlink links the symlink itself.
    fs.linkSync(target, abs);
  }

  private node(entry: ReadEntry, abs: string): void {
    const kind: NodeKind = entry.type === 'FIFO' ? 'fifo' : entry.type === 'CharacterDevice' ? 'char' : 'block';
    if (kind !== 'fifo' && !this.privileged) {
      this.notes.push(`skipped device node "${entry.path}": creating devices needs root`);
      return;
    }
    clearFor(abs, false, this.verified);
    const a = attributes(entry, 0o644);
    makeNode(abs, kind, a.mode, entry.header.devmaj ?? 0, entry.header.devmin ?? 0);
    if (this.preserveOwner) fs.lchownSync(abs, a.uid, a.gid);
    fs.chmodSync(abs, a.mode);
    fs.utimesSync(abs, a.atime, a.mtime);
  }

  private whiteout(entry: ReadEntry, parts: string[]): void {
    const dirParts = parts.slice(0, -1);
    const base = parts[parts.length - 1];
    // The parent must exist as a real directory in this layer: it is where overlayfs looks for the marker.
    const dir = parentDir(this.root, parts, entry.path, true, 'it', this.verified);
    if (base === OPAQUE_MARKER) {
      if (!this.privileged) {
        this.notes.push(`skipped opaque marker "${entry.path}": trusted.* xattrs need root`);
        return;
      }
      markOpaque(dir);
      return;
    }
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return; // aufs bookkeeping (.wh..wh.plnk etc.), meaningless to overlayfs
    const hidden = base.slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '.' || hidden === '..') throw refuseEntry(entry.path);
    const abs = path.join(dir, hidden);
    if (!this.privileged) {
      this.notes.push(`skipped whiteout "${[...dirParts, hidden].join('/')}": creating whiteout devices needs root`);
      return;
    }
    clearFor(abs, false, this.verified);
    makeWhiteout(abs);
    const a = attributes(entry, 0);
    if (this.preserveOwner) fs.lchownSync(abs, a.uid, a.gid);
  }
}

function attributes(entry: ReadEntry, defaultMode: number): Attributes {
  const mtime = entry.mtime ?? new Date();
  return {
    mode: (entry.mode ?? defaultMode) & 0o7777,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    atime: entry.atime ?? mtime,
    mtime,
  };
}

function depth(rel: string): number {
  return rel === '' ? 0 : rel.split('/').length;
}
