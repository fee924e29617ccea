import * as fs from 'node:fs';
import * as path from 'node:path';
import { readLayerXattrs } from './layer-xattrs';
import type { EntryAttributes, TarWriter } from './tar-writer';

/** lstat with 64-bit inode numbers: hardlinks are matched by (dev, ino), and ino may not fit a double. */
export interface FileInfo {
  st: fs.BigIntStats;
  attrs: EntryAttributes;
}

export function fileInfo(abs: string): FileInfo | undefined {
  let st: fs.BigIntStats;
  try {
    st = fs.lstatSync(abs, { bigint: true });
  } catch (e) {
    // Gone between readdir and lstat: a running container deleted it. It is simply not in the archive.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return { st, attrs: { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtime: new Date(Number(st.mtimeMs)) } };
}

/** An object's attributes as an archive entry records them: its lstat fields and its extended attributes. */
export function entryAttributes(abs: string, info: FileInfo): EntryAttributes {
  const xattrs = readLayerXattrs(abs);
  return xattrs ? { ...info.attrs, xattrs } : info.attrs;
}

export function isWhiteoutDevice(st: fs.BigIntStats): boolean {
  return st.isCharacterDevice() && st.rdev === 0n;
}

/** Linux's dev_t encoding (glibc's gnu_dev_major/minor). */
function deviceNumbers(rdev: bigint): [major: number, minor: number] {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return [Number(major), Number(minor)];
}

/** Directory entries in a fixed order, so the same tree gives the same archive (and the same diff ID). */
export function sortedNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
}

/**
 * Hardlinks within one archive: the first name of an inode is archived with its content, later names as
 * links to it. Keyed by device and inode, so inodes of different layers never match.
 */
export class HardlinkTracker {
  private readonly first = new Map<string, string>();

  /** The archive name this inode was first written under, or undefined (and remembered as `name`). */
  seen(st: fs.BigIntStats, name: string): string | undefined {
    if (st.nlink < 2n) return undefined;
    const key = `${st.dev}:${st.ino}`;
    const prior = this.first.get(key);
    if (prior === undefined) this.first.set(key, name);
    return prior;
  }
}

/**
 * Write one non-directory filesystem object as an archive entry. Sockets cannot be archived and are
 * skipped, as docker and GNU tar skip them. Returns false when nothing was written.
 */
export function writeObject(w: TarWriter, name: string, abs: string, info: FileInfo, links: HardlinkTracker): boolean {
  const { st } = info;
  if (st.isFile()) {
    const prior = links.seen(st, name);
    // a later name of an inode carries nothing of its own: the first one has its attributes
    if (prior !== undefined) w.hardlink(name, info.attrs, prior);
    else w.file(name, entryAttributes(abs, info), abs, Number(st.size));
    return true;
  }
  if (st.isSymbolicLink()) {
    w.symlink(name, entryAttributes(abs, info), fs.readlinkSync(abs));
  } else if (st.isCharacterDevice() || st.isBlockDevice()) {
    const [major, minor] = deviceNumbers(st.rdev);
    w.device(name, entryAttributes(abs, info), st.isCharacterDevice() ? 'CharacterDevice' : 'BlockDevice', major, minor);
  } else if (st.isFIFO()) {
    w.device(name, entryAttributes(abs, info), 'FIFO');
  } else {
    return false;
  }
  return true;
}

export function joinName(dir: string, name: string): string {
  return dir === '' ? name : path.posix.join(dir, name);
}
