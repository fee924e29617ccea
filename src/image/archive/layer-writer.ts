import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReadEntry } from 'tar';
import { BerthError } from '../../errors';
import { FileSink } from './file-writers';
import { applyXattrs } from './layer-xattrs';
import { entryXattrs, type Xattrs } from './pax-xattrs';
import { clearFor, lstatOrUndefined, memberComponents, parentDir, refuseEntry, type KnownTree } from './safe-path';
import { makeNode, makeWhiteout, markOpaque, type NodeKind } from './special-files';
import { quote } from '../../util/quote';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './whiteouts';

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
 * whiteouts become 0/0 character devices and opaque xattrs; PAX SCHILY.xattr.* records become the
 * entries' extended attributes (layer-xattrs.ts says which). It never follows a symlink that the archive
 * itself could have planted: ancestors must be directories it made or checked with lstat, existing names
 * are unlinked before being replaced, and files are created O_EXCL|O_NOFOLLOW.
 *
 * `root` must be a new, empty directory that nothing else writes to until finish(): the writer then
 * knows every name in it (KnownTree) and skips the lstat of names that cannot exist. Regular files are
 * written by worker threads (file-writers.ts); whatever could change how a queued file's path resolves
 * (replacing an existing name) or needs a queued file complete (a hardlink to it) drains them first.
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
  /** Everything this writer created below root (see KnownTree). */
  private readonly tree: KnownTree = { dirs: new Set(), others: new Set() };
  private readonly sink: FileSink;
  /** Who owns a file as created: chown is needed only for other owners. */
  private readonly creator: { uid: number; gid: number } | undefined;
  /** Permission bits a new file keeps despite the umask. */
  private readonly umask: number;
  /**
   * Extended attributes of files and directories, set once the workers have closed the files: a
   * write or chown after them would clear security.capability. Applied before any name is removed
   * (replacing), so every path here still leads, through directories only, to what was made for it.
   */
  private readonly xattrs: Array<{ abs: string; entry: string; xattrs: Xattrs }> = [];

  constructor(root: string, opts: LayerWriterOptions = {}) {
    this.root = root;
    this.privileged = process.getuid?.() === 0;
    this.preserveOwner = (opts.preserveOwner ?? this.privileged) && this.privileged;
    // New files get the creator's uid and gid, unless a setgid directory hands down its group: the
    // writer's own directories get no setgid bit before finish(), so only root's can.
    const st = fs.statSync(root);
    this.creator = st.mode & 0o2000 ? undefined : { uid: process.geteuid!(), gid: process.getegid!() };
    this.umask = process.umask();
    this.sink = new FileSink(root);
  }

  async write(entry: ReadEntry): Promise<void> {
    const parts = memberComponents(entry.path, entry.path);
    const base = parts[parts.length - 1] ?? '';
    if (base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(entry, parts);
    if (parts.length === 0) {
      if (entry.type !== 'Directory') throw refuseEntry(entry.path, 'only a directory can stand for the layer root');
      this.dirs.set('', attributes(entry, 0o755));
      this.deferXattrs(entry, this.root);
      return;
    }
    const abs = path.join(parentDir(this.root, parts, entry.path, true, 'it', this.tree), base);
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
        throw new BerthError(
          'UNSUPPORTED',
          `Layer entry ${quote(entry.path)} has tar type ${quote(entry.type)}, which berth cannot unpack`,
        );
    }
  }

  /** Wait for the files, then apply the deferred directory attributes, deepest first so a restrictive parent never blocks a child. */
  async finish(): Promise<void> {
    await this.sink.drain();
    this.sink.release();
    this.applyDeferredXattrs();
    if (!this.dirs.has('')) this.dirs.set('', { mode: 0o755, uid: 0, gid: 0, atime: new Date(), mtime: new Date() });
    const byDepth = [...this.dirs.entries()].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, a] of byDepth) {
      const abs = path.join(this.root, rel);
      if (this.preserveOwner) fs.lchownSync(abs, a.uid, a.gid);
      fs.chmodSync(abs, a.mode);
      fs.utimesSync(abs, a.atime, a.mtime);
    }
  }

  /** Give up: wait until the workers are done with this layer, so that its directory can be removed. */
  abandon(): Promise<void> {
    return this.sink.abandon();
  }

  private async file(entry: ReadEntry, abs: string): Promise<void> {
    await this.replacing(abs, false);
    const a = attributes(entry, 0o644);
    const chown = this.preserveOwner && (a.uid !== this.creator?.uid || a.gid !== this.creator?.gid);
    // Special bits and bits the umask would drop are set after the body (and after chown, which clears
    // setuid/setgid); a plain mode is given at creation, which saves a chmod per file.
    const plain = !chown && (a.mode & ~0o777) === 0 && (a.mode & this.umask) === 0;
    const id = this.sink.open(abs, plain ? a.mode : 0o600);
    this.tree.others.add(abs);
    for await (const chunk of entry) {
      await this.sink.data(id, chunk as Buffer);
      this.size += (chunk as Buffer).length;
    }
    this.sink.close(id, { uid: chown ? a.uid : -1, gid: chown ? a.gid : -1, mode: plain ? -1 : a.mode, atime: a.atime, mtime: a.mtime });
    this.deferXattrs(entry, abs);
  }

  private deferXattrs(entry: ReadEntry, abs: string): void {
    const xattrs = entryXattrs(entry);
    if (xattrs) this.xattrs.push({ abs, entry: entry.path, xattrs });
  }

  /** Only once the workers are drained: the files must be complete and closed. */
  private applyDeferredXattrs(): void {
    for (const x of this.xattrs.splice(0)) applyXattrs(x.abs, x.entry, x.xattrs, this.privileged, this.notes);
  }

  /** Attributes of what the main thread made itself, complete already (symlinks, device nodes, links). */
  private applyXattrsNow(entry: ReadEntry, abs: string): void {
    const xattrs = entryXattrs(entry);
    if (xattrs) applyXattrs(abs, entry.path, xattrs, this.privileged, this.notes);
  }

  /**
   * Clear the way for a new entry at `abs`. A name the tree does not know cannot exist; one it knows
   * may be a file still queued in a worker, so the workers finish before it is looked at or removed.
   */
  private async replacing(abs: string, keepDirectory: boolean): Promise<fs.Stats | undefined> {
    if (!this.tree.dirs.has(abs) && !this.tree.others.has(abs)) return undefined;
    await this.sink.drain();
    this.applyDeferredXattrs();
    return clearFor(abs, keepDirectory, this.tree);
  }

  private async directory(entry: ReadEntry, abs: string, parts: string[]): Promise<void> {
    // An existing directory is merged into, as tar does; anything else at that name is replaced.
    if (!this.tree.dirs.has(abs)) {
      await this.replacing(abs, false);
      fs.mkdirSync(abs, 0o700);
      this.tree.dirs.add(abs);
    }
    this.dirs.set(parts.join('/'), attributes(entry, 0o755));
    this.deferXattrs(entry, abs);
  }

  private async symlink(entry: ReadEntry, abs: string): Promise<void> {
    // The link text is data: "link -> /etc" is fine to create. What is refused is writing through it later.
    // A new name needs no drain: no queued file's path goes through it, since its directories all exist.
    await this.replacing(abs, false);
    fs.symlinkSync(entry.linkpath ?? '', abs);
    this.tree.others.add(abs);
    const a = attributes(entry, 0o777);
    if (this.preserveOwner && (a.uid !== this.creator?.uid || a.gid !== this.creator?.gid)) fs.lchownSync(abs, a.uid, a.gid);
    fs.lutimesSync(abs, a.atime, a.mtime);
    this.applyXattrsNow(entry, abs);
  }

  private async hardlink(entry: ReadEntry, abs: string, parts: string[]): Promise<void> {
    const linkpath = entry.linkpath ?? '';
    const targetParts = memberComponents(linkpath, entry.path);
    if (targetParts.length === 0) throw refuseEntry(entry.path, 'its link target is the layer root');
    const what = `its link target ${quote(linkpath)}`;
    const target = path.join(parentDir(this.root, targetParts, entry.path, false, what, this.tree), targetParts[targetParts.length - 1]);
    if (this.sink.pending(target)) await this.sink.drain();
    const st = lstatOrUndefined(target);
    if (!st) throw refuseEntry(entry.path, `${what} does not exist in the layer`);
    if (st.isDirectory()) throw refuseEntry(entry.path, `${what} is a directory`);
    if (targetParts.join('/') === parts.join('/')) return; // a link to itself: nothing to do
    await this.replacing(abs, false);
    // link(2) does not follow a symlink target: linking to a symlink links the symlink itself.
    fs.linkSync(target, abs);
    this.tree.others.add(abs);
    // the target's inode, which may still be a file a worker has open: deferred like a file's
    this.deferXattrs(entry, abs);
  }

  private async node(entry: ReadEntry, abs: string): Promise<void> {
    const kind: NodeKind = entry.type === 'FIFO' ? 'fifo' : entry.type === 'CharacterDevice' ? 'char' : 'block';
    if (kind !== 'fifo' && !this.privileged) {
      this.notes.push(`skipped device node ${quote(entry.path)}: creating devices needs root`);
      return;
    }
    await this.replacing(abs, false);
    const a = attributes(entry, 0o644);
    this.tree.others.add(abs);
    makeNode(abs, kind, a.mode, entry.header.devmaj ?? 0, entry.header.devmin ?? 0);
    if (this.preserveOwner) fs.lchownSync(abs, a.uid, a.gid);
    fs.chmodSync(abs, a.mode);
    fs.utimesSync(abs, a.atime, a.mtime);
    this.applyXattrsNow(entry, abs);
  }

  private async whiteout(entry: ReadEntry, parts: string[]): Promise<void> {
    const dirParts = parts.slice(0, -1);
    const base = parts[parts.length - 1];
    // The parent must exist as a real directory in this layer: it is where overlayfs looks for the marker.
    const dir = parentDir(this.root, parts, entry.path, true, 'it', this.tree);
    if (base === OPAQUE_MARKER) {
      if (!this.privileged) {
        this.notes.push(`skipped opaque marker ${quote(entry.path)}: trusted.* xattrs need root`);
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
      this.notes.push(`skipped whiteout ${quote([...dirParts, hidden].join('/'))}: creating whiteout devices needs root`);
      return;
    }
    await this.replacing(abs, false);
    this.tree.others.add(abs);
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
