/**
 * A tar stream extracted into a directory of a container (`docker cp` in, PUT /containers/{id}/
 * archive). Every write lands in the view's writable branch: a running container's root (through
 * its init's /proc/PID/root), or a stopped one's write layer, where the directories on the way are
 * copied up from the image layers first and a whiteout at a name written is replaced (a directory
 * made there is opaque, so that the deleted content does not come back). Names are refused as
 * berth's layer extraction refuses them (absolute, '..'), an entry never passes through a symlink,
 * and each object is made from its directory's descriptor with O_NOFOLLOW/O_EXCL: nothing a
 * container plants can send a write outside it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { ReadEntry } from 'tar';
import { BerthError } from '../../errors';
import { memberComponents } from '../../image/archive/safe-path';
import { tarEntries } from '../../image/archive/tar-entries';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from '../../image/archive/whiteouts';
import { native } from '../../native';
import { quote } from '../../util/quote';
import { fdPath, OPAQUE_XATTR, type ContainerView, type Dir, type Entry } from './view';

const WDIR = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW;
// a held descriptor opened again through its /proc/self/fd link: the one link that must be followed
const REOPEN_DIR = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY;

export interface ExtractOptions {
  /** docker's noOverwriteDirNonDir: a directory never replaces a non-directory, nor the other way round. */
  noOverwriteDirNonDir?: boolean;
  /** Every object's owner instead of the archive's (docker's copyUIDGID with a container user). */
  owner?: { uid: number; gid: number };
  /** Entries whose first component is `from` are extracted as `to` (docker cp's copy to a new name). */
  rebase?: { from: string; to: string };
}

/** A directory being written: its merged view (for what exists) and its writable branch's descriptor. */
interface WriteDir {
  rel: string;
  merged: Dir;
  fd: number;
}

const refuse = (entry: string, why: string) => new BerthError('UNSAFE_ARCHIVE', `Refusing archive entry ${quote(entry)}: ${why}`);

export class Extractor {
  private readonly cache = new Map<string, WriteDir>();
  private readonly dirTimes: Array<[rel: string, mtime: Date]> = [];

  private constructor(
    private readonly view: ContainerView,
    private readonly root: WriteDir,
    private readonly o: ExtractOptions,
  ) {}

  /** Opens the directory at canonical `path` (resolved by the view) for writing, copying it up if needed. */
  static open(view: ContainerView, path: string, o: ExtractOptions): Extractor {
    let w: WriteDir = { rel: '', merged: view.root, fd: fs.openSync(fdPath(view.root.fds[0].fd), REOPEN_DIR) };
    for (const name of path.split('/').filter(Boolean)) {
      const e = view.lookup(w.merged, name);
      if (!e || !e.st.isDirectory()) throw refuse(path, 'the destination is not a directory');
      const next = Extractor.descend(view, w, e);
      fs.closeSync(w.fd);
      view.closeDir(w.merged);
      w = { ...next, rel: '' };
    }
    return new Extractor(view, w, o);
  }

  /** The writable copy of directory entry `e` of `w` (made from its lower copy's attributes if it has none). */
  private static descend(view: ContainerView, w: WriteDir, e: Entry): WriteDir {
    const at = fdPath(w.fd, e.name);
    const upper = fs.lstatSync(at, { throwIfNoEntry: false });
    if (!upper) {
      fs.mkdirSync(at);
      fs.lchownSync(at, Number(e.st.uid), Number(e.st.gid));
    } else if (!upper.isDirectory()) throw refuse(e.path, 'it changed while it was copied');
    const fd = fs.openSync(at, WDIR);
    if (!upper) {
      fs.fchmodSync(fd, Number(e.st.mode & 0o7777n));
      fs.futimesSync(fd, new Date(Number(e.st.atimeMs)), new Date(Number(e.st.mtimeMs)));
    }
    // looked up again: its writable copy now leads the directory's branches
    const merged = view.openDir(view.lookup(w.merged, e.name)!);
    return { rel: e.name, merged, fd };
  }

  async extract(input: Readable, what: string): Promise<void> {
    try {
      for await (const entry of tarEntries(input, what)) await this.entry(entry);
      // directories' times last: writing into them changed them
      for (const [rel, mtime] of this.dirTimes) {
        const w = this.dir(rel.split('/'), rel, true);
        fs.futimesSync(w.fd, mtime, mtime);
      }
    } finally {
      for (const w of this.cache.values()) this.closeWriteDir(w);
      this.cache.clear();
      fs.closeSync(this.root.fd);
    }
  }

  private closeWriteDir(w: WriteDir): void {
    fs.closeSync(w.fd);
    this.view.closeDir(w.merged);
  }

  /** The write directory of `parts` below the root, every component an existing directory (never a symlink). */
  private dir(parts: string[], entry: string, mustExist = false): WriteDir {
    let w = this.root;
    let rel = '';
    for (const name of parts) {
      rel = rel ? `${rel}/${name}` : name;
      const cached = this.cache.get(rel);
      if (cached) {
        w = cached;
        continue;
      }
      let e = this.view.lookup(w.merged, name);
      if (!e) {
        if (mustExist) throw refuse(entry, `${quote(rel)} is gone`);
        // a parent the archive does not list: made as docker makes it
        e = this.create(w, name, entry, 'Directory', 0o755);
      }
      if (e.st.isSymbolicLink()) throw refuse(entry, `it passes through the symbolic link ${quote(rel)} and could leave the directory`);
      if (!e.st.isDirectory()) throw refuse(entry, `it goes through ${quote(rel)}, which is not a directory`);
      const next = { ...Extractor.descend(this.view, w, e), rel };
      this.cache.set(rel, next);
      w = next;
    }
    return w;
  }

  /** Forgets the directories that are not on the way to `rel` (archives list a tree depth first). */
  private trimCache(rel: string): void {
    for (const [k, w] of this.cache) {
      if (rel === k || rel.startsWith(`${k}/`)) continue;
      this.closeWriteDir(w);
      this.cache.delete(k);
    }
  }

  /** Removes what the writable branch has at `name` (a directory with all it holds, never through a symlink). */
  private clear(w: WriteDir, name: string): void {
    const at = fdPath(w.fd, name);
    const st = fs.lstatSync(at, { throwIfNoEntry: false });
    if (st?.isDirectory()) removeTreeAt(w.fd, name);
    else if (st) fs.unlinkSync(at);
    if (this.view.topFormat === 'aufs') fs.rmSync(fdPath(w.fd, WHITEOUT_PREFIX + name), { force: true });
  }

  /** Makes a fresh object at `name` of `w`'s writable branch; returns it as the view now sees it. */
  private create(w: WriteDir, name: string, entry: string, type: string, mode: number, e?: ReadEntry): Entry {
    const at = fdPath(w.fd, name);
    const before = this.view.lookup(w.merged, name);
    this.clear(w, name);
    if (type === 'Directory') {
      fs.mkdirSync(at, 0o700);
      // the union must not show what the layers below had here (a deleted or replaced directory)
      if (this.view.topFormat === 'overlay' && !before?.st.isDirectory()) native().setXattr(at, OPAQUE_XATTR, Buffer.from('y'));
      if (this.view.topFormat === 'aufs') fs.writeFileSync(fdPath(w.fd, `${name}/${OPAQUE_MARKER}`), '', { flag: 'wx' });
      const fd = fs.openSync(at, WDIR);
      try {
        fs.fchmodSync(fd, mode);
      } finally {
        fs.closeSync(fd);
      }
    } else if (type === 'SymbolicLink') {
      fs.symlinkSync(e!.linkpath ?? '', at);
    } else if (type === 'Link') {
      const parts = this.rebased(e!.linkpath ?? '', entry);
      if (parts.length === 0) throw refuse(entry, 'its link target is the destination itself');
      const from = this.dir(parts.slice(0, -1), entry, true);
      const src = fdPath(from.fd, parts[parts.length - 1]);
      const st = fs.lstatSync(src, { throwIfNoEntry: false });
      if (!st || st.isDirectory()) throw refuse(entry, `its link target ${quote(e!.linkpath)} is not a file of the archive`);
      fs.linkSync(src, at);
    } else if (type === 'CharacterDevice' || type === 'BlockDevice' || type === 'FIFO') {
      // Node cannot mknod: mknod(1) makes it from the directory's descriptor, passed as its fd 3
      const args =
        type === 'FIFO'
          ? ['mkfifo', '-m', mode.toString(8), '/proc/self/fd/3/' + name]
          : [
              'mknod',
              '-m',
              mode.toString(8),
              '/proc/self/fd/3/' + name,
              type === 'CharacterDevice' ? 'c' : 'b',
              String(e!.header.devmaj ?? 0),
              String(e!.header.devmin ?? 0),
            ];
      const r = spawnSync(args[0], args.slice(1), { stdio: ['ignore', 'ignore', 'pipe', w.fd], encoding: 'utf8' });
      if (r.status !== 0)
        throw new BerthError('INTERNAL', `Cannot make the device ${quote(entry)}: ${(r.stderr || String(r.error)).trim()}`);
    } else {
      throw refuse(entry, `berth does not extract entries of type ${type}`);
    }
    return this.view.lookup(w.merged, name)!;
  }

  private rebased(name: string, entry: string): string[] {
    const parts = memberComponents(name, entry);
    const r = this.o.rebase;
    if (r && parts[0] === r.from) parts.splice(0, 1, ...r.to.split('/').filter((p) => p !== '' && p !== '.'));
    return parts;
  }

  private async entry(e: ReadEntry): Promise<void> {
    const parts = this.rebased(e.path, e.path);
    const type = e.type as string;
    if (parts.length === 0 || ['ExtendedHeader', 'GlobalExtendedHeader', 'NextFileHasLongPath', 'NextFileHasLongLinkpath'].includes(type)) {
      e.resume();
      return;
    }
    const name = parts[parts.length - 1];
    if (name.startsWith(WHITEOUT_PREFIX) && this.view.topFormat !== 'plain') throw refuse(e.path, 'whiteout names are the storage’s');
    const parentRel = parts.slice(0, -1).join('/');
    this.trimCache(parentRel);
    const w = this.dir(parts.slice(0, -1), e.path);
    const rel = parts.join('/');
    const existing = this.view.lookup(w.merged, name);
    const isDir = type === 'Directory';
    if (this.o.noOverwriteDirNonDir && existing) {
      if (existing.st.isDirectory() && !isDir)
        throw badOverwrite(`cannot overwrite directory ${quote(existing.path)} with non-directory ${quote(rel)}`);
      if (!existing.st.isDirectory() && isDir)
        throw badOverwrite(`cannot overwrite non-directory ${quote(existing.path)} with directory ${quote(rel)}`);
    }
    const uid = this.o.owner?.uid ?? e.uid ?? 0;
    const gid = this.o.owner?.gid ?? e.gid ?? 0;
    const mode = (e.mode ?? 0o644) & 0o7777;
    const mtime = e.mtime ?? new Date();
    if (isDir) {
      e.resume();
      // an existing directory takes the archive's attributes and keeps its content (tar's merge)
      if (!existing?.st.isDirectory()) this.create(w, name, e.path, 'Directory', mode);
      const d = this.dir([...parts.slice(0, -1), name], e.path, true);
      fs.fchownSync(d.fd, uid, gid);
      fs.fchmodSync(d.fd, mode);
      this.dirTimes.push([rel, mtime]);
      return;
    }
    if (type === 'File' || type === 'OldFile' || type === 'ContiguousFile') {
      this.clear(w, name);
      const fd = fs.openSync(
        fdPath(w.fd, name),
        fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
        0o600,
      );
      try {
        for await (const chunk of e as AsyncIterable<Buffer>) {
          let off = 0;
          while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
        }
        fs.fchownSync(fd, uid, gid);
        fs.fchmodSync(fd, mode);
        fs.futimesSync(fd, mtime, mtime);
      } finally {
        fs.closeSync(fd);
      }
      return;
    }
    e.resume();
    this.create(w, name, e.path, type, mode, e);
    const at = fdPath(w.fd, name);
    // l* calls only: a running container could have put a symlink at the name since (mknod -m set the mode)
    fs.lchownSync(at, uid, gid);
    if (type !== 'Link') fs.lutimesSync(at, mtime, mtime);
  }
}

const badOverwrite = (message: string) => new BerthError('INVALID_ARGUMENT', message);

/** Removes directory `name` of `parentFd` with everything in it, each step from a held descriptor. */
function removeTreeAt(parentFd: number, name: string): void {
  const fd = fs.openSync(fdPath(parentFd, name), WDIR);
  try {
    for (const child of fs.readdirSync(fdPath(fd))) {
      const st = fs.lstatSync(fdPath(fd, child), { throwIfNoEntry: false });
      if (st?.isDirectory()) removeTreeAt(fd, child);
      else if (st) fs.unlinkSync(fdPath(fd, child));
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.rmdirSync(fdPath(parentFd, name));
}
