/**
 * A path of a container as a tar stream (`docker cp` out, GET /containers/{id}/archive), named from
 * `topName` down as docker names it: /etc gives etc/, etc/passwd ...; a file gives its base name. Read
 * through the view (view.ts): every object opened with O_NOFOLLOW from its directory's descriptor,
 * its type checked again on the descriptor, so that a running container that swaps a file for a
 * symlink while the archive is made gets nothing of the host. Produced as the reader asks for it.
 */
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { HeaderData } from 'tar';
import { isBranchMeta, type ContainerView, type Entry } from './view';

const BLOCK = 512;
const CHUNK = 1 << 20;
const read = promisify(fs.read);

type Tar = typeof import('tar');

function headerBlocks(tar: Tar, data: HeaderData & { path: string }): Buffer[] {
  const mtime = new Date(Math.floor((data.mtime?.getTime() ?? 0) / 1000) * 1000);
  const h = new tar.Header({ ...data, mtime });
  const needPax = h.encode();
  const out: Buffer[] = [];
  if (needPax)
    out.push(new tar.Pax({ path: data.path, linkpath: data.linkpath, size: data.size, uid: data.uid, gid: data.gid, mtime }).encode());
  out.push(h.block!);
  return out;
}

const padding = (size: number) => (size % BLOCK ? Buffer.alloc(BLOCK - (size % BLOCK)) : undefined);

function attributes(st: fs.BigIntStats): Pick<HeaderData, 'mode' | 'uid' | 'gid' | 'mtime'> {
  return { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtime: new Date(Number(st.mtimeMs)) };
}

/** Linux's dev_t encoding (glibc's gnu_dev_major/minor). */
function deviceNumbers(rdev: bigint): [number, number] {
  return [Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)), Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn))];
}

async function* fileBody(tar: Tar, e: Entry, name: string): AsyncGenerator<Buffer> {
  let fd: number;
  try {
    fd = fs.openSync(e.at, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    // deleted, or replaced by a symlink, since it was listed: not in the archive
    if (['ENOENT', 'ELOOP'].includes((err as NodeJS.ErrnoException).code ?? '')) return;
    throw err;
  }
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    if (!st.isFile()) return;
    const size = Number(st.size);
    yield* headerBlocks(tar, { path: name, type: 'File', size, ...attributes(st) });
    let done = 0;
    while (done < size) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - done));
      const { bytesRead } = await read(fd, buf, 0, buf.length, done);
      // a file that shrank while read is padded to the size its header announced
      if (bytesRead === 0) buf.fill(0);
      const n = bytesRead || buf.length;
      yield buf.subarray(0, n);
      done += n;
    }
    const pad = padding(size);
    if (pad) yield pad;
  } finally {
    fs.closeSync(fd);
  }
}

async function* entryBlocks(tar: Tar, view: ContainerView, e: Entry, name: string, links: Map<string, string>): AsyncGenerator<Buffer> {
  const { st } = e;
  if (st.isDirectory()) {
    yield* headerBlocks(tar, { path: `${name}/`, type: 'Directory', size: 0, ...attributes(st) });
    const dir = view.openDir(e);
    try {
      for (const child of view.list(dir)) {
        if (isBranchMeta(child)) continue;
        const ce = view.lookup(dir, child);
        if (ce) yield* entryBlocks(tar, view, ce, `${name}/${child}`, links);
      }
    } finally {
      view.closeDir(dir);
    }
    return;
  }
  if (st.isFile()) {
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) return yield* headerBlocks(tar, { path: name, type: 'Link', linkpath: first, size: 0, ...attributes(st) });
      links.set(key, name);
    }
    return yield* fileBody(tar, e, name);
  }
  if (st.isSymbolicLink()) {
    let target: string;
    try {
      target = fs.readlinkSync(e.at);
    } catch {
      return; // gone since it was listed
    }
    return yield* headerBlocks(tar, { path: name, type: 'SymbolicLink', linkpath: target, size: 0, ...attributes(st) });
  }
  if (st.isCharacterDevice() || st.isBlockDevice()) {
    const [devmaj, devmin] = deviceNumbers(st.rdev);
    const type = st.isCharacterDevice() ? 'CharacterDevice' : 'BlockDevice';
    return yield* headerBlocks(tar, { path: name, type, size: 0, devmaj, devmin, ...attributes(st) });
  }
  if (st.isFIFO()) return yield* headerBlocks(tar, { path: name, type: 'FIFO', size: 0, ...attributes(st) });
  // sockets cannot be archived: docker and GNU tar leave them out too
}

/** The archive of `entry` under `topName`; `done` runs when it ended or failed (the view's release). */
export function archiveStream(view: ContainerView, entry: Entry, topName: string, done: () => void): Readable {
  async function* all(): AsyncGenerator<Buffer> {
    try {
      const tar = require('tar') as Tar;
      yield* entryBlocks(tar, view, entry, topName, new Map());
      yield Buffer.alloc(BLOCK * 2);
    } finally {
      done();
    }
  }
  return Readable.from(all(), { objectMode: false });
}
