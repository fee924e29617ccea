/**
 * A container's filesystem as `cp` sees it, walked one component at a time from directories held
 * open, never through a host path a container could redirect: every name is looked up as
 * /proc/self/fd/DIR/NAME, where DIR is a descriptor of a directory inside the container and NAME
 * one component (no '/', never '..'), with O_NOFOLLOW on the final open. Symlinks are read and
 * followed here, as the container would see them: an absolute target restarts at the container's
 * root, a '..' stops at it (the kernel's chroot rule, openat2's RESOLVE_IN_ROOT). A running
 * container is one branch (its init's /proc/PID/root, with its volumes mounted); a stopped one is
 * the union of its write layer over its image layers, read as overlayfs would show them (whiteouts,
 * opaque directories), so that nothing is mounted on the host.
 */
import * as fs from 'node:fs';
import { BerthError } from '../../errors';
import { native } from '../../native';
import { quote } from '../../util/quote';
import { AUFS_META, OPAQUE_MARKER, WHITEOUT_PREFIX } from '../../image/archive/whiteouts';

/** Linux's O_PATH (the same on x86_64 and arm64); Node does not export it. */
export const O_PATH = 0o10000000;
const DIR_FLAGS = O_PATH | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW;
const MAX_SYMLINKS = 40;
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** How a branch records deletions: not at all (a running container's merged root), overlay, aufs. */
export type BranchFormat = 'plain' | 'overlay' | 'aufs';

/** One directory of the union as held open: the branches that contribute to it, top first. */
export interface Dir {
  /** The directory's path in the container, '/' for the root. */
  path: string;
  fds: Array<{ branch: number; fd: number }>;
}

/** A name looked up in a directory: the branch it comes from, its lstat. */
export interface Entry {
  dir: Dir;
  name: string;
  path: string;
  branch: number;
  /** /proc/self/fd/N/NAME: only lstat, readlink, O_NOFOLLOW opens and l* calls may be used on it. */
  at: string;
  st: fs.BigIntStats;
}

/** What resolve() found: the parent directory, the final name and, if it exists, its entry. */
export interface Resolved {
  parent: Dir;
  name: string;
  path: string;
  entry?: Entry;
}

export const fdPath = (fd: number, name?: string) => (name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`);

const childPath = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);

export function pathError(code: 'ENOENT' | 'ENOTDIR' | 'ELOOP', path: string): NodeJS.ErrnoException {
  const text = { ENOENT: 'no such file or directory', ENOTDIR: 'not a directory', ELOOP: 'too many levels of symbolic links' }[code];
  return Object.assign(new Error(`${path}: ${text}`), { code, path });
}

export class ContainerView {
  private readonly open = new Set<number>();
  readonly root: Dir;

  /** `roots`: descriptors of each branch's root directory, top (the writable one) first; the view owns them. */
  constructor(
    roots: number[],
    private readonly formats: BranchFormat[],
  ) {
    for (const fd of roots) this.open.add(fd);
    this.root = { path: '/', fds: [] };
    for (let i = 0; i < roots.length; i++) {
      this.root.fds.push({ branch: i, fd: roots[i] });
      if (this.isOpaqueRoot(i, roots[i])) break;
    }
  }

  /** The writable branch's format: a running container's root, or a stopped one's write layer. */
  get topFormat(): BranchFormat {
    return this.formats[0];
  }

  /** NAME in `dir` as the union shows it (undefined when absent or deleted by a whiteout). */
  lookup(dir: Dir, name: string): Entry | undefined {
    for (const { branch, fd } of dir.fds) {
      const format = this.formats[branch];
      if (format === 'aufs') {
        if (name.startsWith(WHITEOUT_PREFIX)) return undefined;
        if (fs.lstatSync(fdPath(fd, WHITEOUT_PREFIX + name), { throwIfNoEntry: false })) return undefined;
      }
      const at = fdPath(fd, name);
      const st = fs.lstatSync(at, { bigint: true, throwIfNoEntry: false });
      if (!st) continue;
      if (format === 'overlay' && st.isCharacterDevice() && st.rdev === 0n) return undefined;
      return { dir, name, path: childPath(dir.path, name), branch, at, st };
    }
    return undefined;
  }

  /** The names of a directory of the union, sorted (so that archives come out the same every time). */
  list(dir: Dir): string[] {
    const names = new Set<string>();
    for (const { branch, fd } of dir.fds) {
      for (const name of fs.readdirSync(fdPath(fd))) {
        if (this.formats[branch] === 'aufs' && name.startsWith(WHITEOUT_PREFIX)) continue;
        names.add(name);
      }
    }
    return [...names].filter((n) => this.lookup(dir, n) !== undefined).sort();
  }

  /** Opens a directory entry: the branch it comes from, and below it every branch where the same
   *  name is a directory too, down to an opaque one or one where it is not a directory. */
  openDir(e: Entry): Dir {
    if (!e.st.isDirectory()) throw pathError('ENOTDIR', e.path);
    const out: Dir = { path: e.path, fds: [] };
    const start = e.dir.fds.findIndex((f) => f.branch === e.branch);
    for (let i = start; i < e.dir.fds.length; i++) {
      const { branch, fd: parent } = e.dir.fds[i];
      const at = fdPath(parent, e.name);
      if (i > start) {
        if (this.formats[branch] === 'aufs' && fs.lstatSync(fdPath(parent, WHITEOUT_PREFIX + e.name), { throwIfNoEntry: false })) break;
        const st = fs.lstatSync(at, { throwIfNoEntry: false });
        if (!st) continue;
        if (!st.isDirectory()) break;
      }
      let fd: number;
      try {
        fd = fs.openSync(at, DIR_FLAGS);
      } catch (err) {
        // replaced by a symlink since its lstat (a running container): never followed
        if (i === start) throw err;
        break;
      }
      this.open.add(fd);
      out.fds.push({ branch, fd });
      if (this.isOpaque(branch, parent, e.name, fd)) break;
    }
    return out;
  }

  /** Releases a directory's descriptors (not the roots'). */
  closeDir(d: Dir): void {
    if (d === this.root) return;
    for (const { fd } of d.fds) {
      if (this.root.fds.some((r) => r.fd === fd) || !this.open.delete(fd)) continue;
      fs.closeSync(fd);
    }
  }

  close(): void {
    for (const fd of this.open) fs.closeSync(fd);
    this.open.clear();
  }

  /**
   * `path` in the container: every component but the last resolved through symlinks; the last one
   * too when `followFinal`. A '..' of the requested path that climbs above the root is refused (the
   * caller asked for a place outside the container); one in a symlink's target stops at the root.
   */
  resolve(path: string, followFinal: boolean): Resolved {
    const parts: string[] = [];
    for (const p of path.split('/')) {
      if (p === '' || p === '.') continue;
      if (p === '..') {
        if (parts.length === 0)
          throw new BerthError('INVALID_ARGUMENT', `The path ${quote(path)} climbs above the container's root directory`);
        parts.pop();
      } else parts.push(p);
    }
    const stack: Dir[] = [this.root];
    const pending = parts.reverse();
    let links = 0;
    const top = () => stack[stack.length - 1];
    const pop = () => {
      if (stack.length > 1) this.closeDir(stack.pop()!);
    };
    for (;;) {
      if (pending.length === 0) {
        // the path resolved to a directory ('/' or a symlink to one): its entry is looked up in its parent
        if (stack.length === 1) return { parent: this.root, name: '', path: '/', entry: this.rootEntry() };
        const dir = stack.pop()!;
        const name = dir.path.slice(dir.path.lastIndexOf('/') + 1);
        this.closeDir(dir);
        return { parent: top(), name, path: dir.path, entry: this.lookup(top(), name)! };
      }
      const name = pending.pop()!;
      if (name === '..') {
        pop();
        continue;
      }
      if (name === '.') continue;
      const last = pending.length === 0;
      const e = this.lookup(top(), name);
      if (!e) {
        if (last) return { parent: top(), name, path: childPath(top().path, name) };
        throw pathError('ENOENT', childPath(top().path, name));
      }
      if (e.st.isSymbolicLink() && (!last || followFinal)) {
        if (++links > MAX_SYMLINKS) throw pathError('ELOOP', e.path);
        const target = fs.readlinkSync(e.at);
        if (target.startsWith('/')) while (stack.length > 1) pop();
        for (const p of target.split('/').reverse()) if (p !== '') pending.push(p);
        continue;
      }
      if (last) return { parent: top(), name, path: e.path, entry: e };
      if (!e.st.isDirectory()) throw pathError('ENOTDIR', e.path);
      stack.push(this.openDir(e));
    }
  }

  /** Closes what resolve() kept open. */
  release(r: Resolved): void {
    this.closeDir(r.parent);
  }

  /** The root directory as an entry (its attributes for an archive of '/'). */
  rootEntry(): Entry {
    const { branch, fd } = this.root.fds[0];
    return { dir: this.root, name: '', path: '/', branch, at: fdPath(fd), st: fs.statSync(fdPath(fd), { bigint: true }) };
  }

  private isOpaque(branch: number, parent: number, name: string, fd: number): boolean {
    const format = this.formats[branch];
    if (format === 'overlay') return native().getXattr(fdPath(parent, name), OPAQUE_XATTR) === 'y';
    if (format === 'aufs') return fs.lstatSync(fdPath(fd, OPAQUE_MARKER), { throwIfNoEntry: false }) !== undefined;
    return false;
  }

  private isOpaqueRoot(branch: number, fd: number): boolean {
    return this.formats[branch] === 'aufs' && fs.lstatSync(fdPath(fd, OPAQUE_MARKER), { throwIfNoEntry: false }) !== undefined;
  }
}

/** aufs' bookkeeping names are never content; whiteout markers are the view's, not the user's. */
export function isBranchMeta(name: string): boolean {
  return name.startsWith(AUFS_META) || name === OPAQUE_MARKER;
}
