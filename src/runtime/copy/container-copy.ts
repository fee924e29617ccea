/**
 * `docker cp`'s operations on one container, running or not: stat a path (docker's
 * X-Docker-Container-Path-Stat), archive a path as a tar stream, extract a tar stream into a
 * directory. A running container is read and written through its init's /proc/PID/root (so its
 * volumes are included, as docker's are); a stopped one through its write layer over its image
 * layers, without mounting anything (volumes are not part of it then). Node never enters the
 * container: view.ts walks it from descriptors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError } from '../../errors';
import { quote } from '../../util/quote';
import { processStartTime } from '../../util/proc';
import { isRunning } from '../container-predicates';
import type { ContainerInfo } from '../types';
import { Extractor, type ExtractOptions } from './tar-in';
import { archiveStream } from './tar-out';
import { ContainerView, fdPath, O_PATH, type BranchFormat, type Entry } from './view';

const DIR = O_PATH | fs.constants.O_DIRECTORY;

/** docker's container path stat, as the docker CLI reads it (mode in Go's os.FileMode bits). */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** Go's os.FileMode type bits, which the docker CLI tests (IsDir, ModeSymlink). */
const GO_MODE = {
  dir: 2 ** 31,
  symlink: 2 ** 27,
  device: 2 ** 26,
  pipe: 2 ** 25,
  socket: 2 ** 24,
  setuid: 2 ** 23,
  setgid: 2 ** 22,
  char: 2 ** 21,
  sticky: 2 ** 20,
};

function goFileMode(st: fs.BigIntStats): number {
  const m = Number(st.mode);
  let mode = m & 0o777;
  if (st.isDirectory()) mode += GO_MODE.dir;
  else if (st.isSymbolicLink()) mode += GO_MODE.symlink;
  else if (st.isBlockDevice()) mode += GO_MODE.device;
  else if (st.isCharacterDevice()) mode += GO_MODE.device + GO_MODE.char;
  else if (st.isFIFO()) mode += GO_MODE.pipe;
  else if (st.isSocket()) mode += GO_MODE.socket;
  if (m & 0o4000) mode += GO_MODE.setuid;
  if (m & 0o2000) mode += GO_MODE.setgid;
  if (m & 0o1000) mode += GO_MODE.sticky;
  return mode;
}

/** The descriptor of a running container's root, pinned to the process state.json names (never a reused PID). */
function openProcRoot(info: ContainerInfo): number {
  const { pid, pidStartTime } = info.state;
  const gone = () => new BerthError('INVALID_STATE', `Container ${quote(info.config.name)} stopped while it was read`);
  let procFd: number;
  try {
    procFd = fs.openSync(`/proc/${pid}`, DIR);
  } catch {
    throw gone();
  }
  try {
    if (pidStartTime !== undefined && processStartTime(pid!) !== pidStartTime) throw gone();
    return fs.openSync(fdPath(procFd, 'root'), DIR);
  } finally {
    fs.closeSync(procFd);
  }
}

/** The view of a container's filesystem (see view.ts); the caller closes it. */
export function openView(info: ContainerInfo, containerDir: string): ContainerView {
  if (isRunning(info.state) && info.state.pid) return new ContainerView([openProcRoot(info)], ['plain']);
  const upper = path.join(containerDir, 'upper');
  fs.mkdirSync(upper, { recursive: true, mode: 0o755 });
  const dirs = [upper, ...info.config.layers];
  const formats: BranchFormat[] = [
    info.config.storageDriver === 'aufs' ? 'aufs' : 'overlay',
    ...info.config.layers.map(() => 'overlay' as const),
  ];
  const fds: number[] = [];
  try {
    for (const d of dirs) fds.push(fs.openSync(d, DIR));
  } catch (e) {
    for (const fd of fds) fs.closeSync(fd);
    throw new BerthError('INTERNAL', `Container ${info.config.name} is missing a layer of its filesystem`, { cause: e });
  }
  return new ContainerView(fds, formats);
}

/** docker's message for a path that is not there (the docker CLI turns its 404 into "No such container:path"). */
export function notFoundError(p: string, info: ContainerInfo): BerthError {
  return new BerthError('CONTAINER_NOT_FOUND', `Could not find the file ${p} in container ${info.config.name}`);
}

/** The name an archive of `p` starts with: its base name, '.' for '/' or a path ending in '/.'. */
function topName(p: string): string {
  const base = path.posix.basename(p);
  return base === '' || p.endsWith('/.') || path.posix.normalize(p) === '/' ? '.' : base;
}

/** Whether `p` asks for what its last symlink points to (a trailing '/' or '/.'), as for docker. */
const followsFinal = (p: string) => p.endsWith('/') || p.endsWith('/.');

function lookupPath(view: ContainerView, info: ContainerInfo, p: string): { entry: Entry; path: string } {
  let r;
  try {
    r = view.resolve(p, followsFinal(p));
  } catch (e) {
    if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes((e as NodeJS.ErrnoException).code ?? '')) throw notFoundError(p, info);
    throw e;
  }
  if (!r.entry) throw notFoundError(p, info);
  return { entry: r.entry, path: r.path };
}

function statOf(view: ContainerView, entry: Entry, p: string): PathStat {
  let linkTarget = '';
  if (entry.st.isSymbolicLink()) {
    // where the link leads inside the container, fully resolved (what `docker cp -L` copies)
    try {
      linkTarget = view.resolve(entry.path, true).path;
    } catch {
      linkTarget = fs.readlinkSync(entry.at);
    }
  }
  return {
    name: entry.path === '/' ? '/' : path.posix.basename(p.replace(/\/\.?$/, '')) || entry.name,
    size: Number(entry.st.size),
    mode: goFileMode(entry.st),
    mtime: new Date(Number(entry.st.mtimeMs)).toISOString(),
    linkTarget,
  };
}

/** docker's ContainerStatPath. */
export function statPath(info: ContainerInfo, containerDir: string, p: string): PathStat {
  const view = openView(info, containerDir);
  try {
    const { entry } = lookupPath(view, info, p);
    return statOf(view, entry, p);
  } finally {
    view.close();
  }
}

/** docker's CopyFromContainer: the stat of `p` and its archive (read as the stream is consumed). */
export function archivePath(info: ContainerInfo, containerDir: string, p: string): { stat: PathStat; archive: Readable } {
  const view = openView(info, containerDir);
  try {
    const { entry } = lookupPath(view, info, p);
    const stat = statOf(view, entry, p);
    return { stat, archive: archiveStream(view, entry, topName(p), () => view.close()) };
  } catch (e) {
    view.close();
    throw e;
  }
}

export interface CopyToOptions {
  noOverwriteDirNonDir?: boolean;
  /** docker's copyUIDGID: owned by the container's user when it has one, else as in the archive. */
  copyUIDGID?: boolean;
}

/** docker's CopyToContainer: `archive` extracted into the directory `p` (which must exist). */
export async function extractTo(
  info: ContainerInfo,
  containerDir: string,
  p: string,
  archive: Readable,
  o: CopyToOptions = {},
): Promise<void> {
  const view = openView(info, containerDir);
  try {
    const { entry, path: resolved } = lookupPath(view, info, p.endsWith('/') ? p : `${p}/`);
    if (!entry.st.isDirectory()) throw new BerthError('INVALID_ARGUMENT', 'extraction point is not a directory');
    const options: ExtractOptions = {
      ...(o.noOverwriteDirNonDir ? { noOverwriteDirNonDir: true } : {}),
      ...(o.copyUIDGID && (info.config.uid !== 0 || info.config.gid !== 0)
        ? { owner: { uid: info.config.uid, gid: info.config.gid } }
        : {}),
    };
    await Extractor.open(view, resolved, options).extract(archive, `archive for ${info.config.name}:${p}`);
  } finally {
    view.close();
  }
}
