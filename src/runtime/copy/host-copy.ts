/**
 * The host's side of `berth cp`: a host path as an archive for a container, and a container's
 * archive extracted onto the host, with docker cp's naming rules (copy into an existing directory,
 * or to a new name; SRC/. copies a directory's content). The archive from a container is extracted
 * with the same guards as one going in (tar-in.ts): its names cannot leave the destination.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError } from '../../errors';
import { quote } from '../../util/quote';
import { Extractor } from './tar-in';
import { archiveStream } from './tar-out';
import { ContainerView, O_PATH } from './view';

const DIR = O_PATH | fs.constants.O_DIRECTORY;

/** A view of one host directory (the user's own: its own path may go through symlinks). */
function hostDirView(dir: string): ContainerView {
  return new ContainerView([fs.openSync(dir, DIR)], ['plain']);
}

/** `src/.` and `src/` name a directory's content or the directory; docker's trailing-dot rule. */
export const copiesContent = (p: string) => p === '.' || p.endsWith('/.');

/** A host path as an archive whose top entry is `topName` ('.' for a directory's content). */
export function archiveHostPath(src: string, topName: string, followLink: boolean): Readable {
  let abs = path.resolve(src);
  if (followLink) abs = fs.realpathSync(abs);
  const content = copiesContent(src);
  const dir = content || abs === '/' ? abs : path.dirname(abs);
  const view = hostDirView(dir);
  try {
    const entry = content || abs === '/' ? view.rootEntry() : view.lookup(view.root, path.basename(abs));
    if (!entry) throw new BerthError('INVALID_ARGUMENT', `Could not find the file ${src} on the host: no such file or directory`);
    return archiveStream(view, entry, content ? '.' : topName, () => view.close());
  } catch (e) {
    view.close();
    throw e;
  }
}

export interface HostTarget {
  /** The directory the archive is extracted into. */
  dir: string;
  /** The name its top entry takes there (undefined: its own). */
  rename?: string;
}

/**
 * Where an archive of a source (a directory or not, its name `srcBase`) lands for destination `dst`,
 * as docker cp decides: inside an existing directory; as `dst` itself when it does not exist
 * (its parent must) or is a file that a file replaces.
 */
export function targetFor(
  dst: { exists: boolean; isDir: boolean; path: string },
  src: { isDir: boolean; content: boolean },
  where: string,
): HostTarget {
  if (dst.exists && dst.isDir) return { dir: dst.path };
  if (dst.exists) {
    if (src.isDir) throw new BerthError('INVALID_ARGUMENT', `cannot copy a directory to a file: ${where} is a file`);
    return { dir: path.posix.dirname(dst.path), rename: path.posix.basename(dst.path) };
  }
  if (dst.path.endsWith('/') && !src.isDir)
    throw new BerthError('INVALID_ARGUMENT', `destination directory ${quote(where)} does not exist`);
  const trimmed = dst.path.replace(/\/+$/, '');
  return { dir: path.posix.dirname(trimmed), rename: path.posix.basename(trimmed) };
}

/** A container's archive extracted on the host for destination `dst`: `top` is the name its top
 *  entry has, `wanted` the name it takes inside an existing directory. */
export async function extractOnHost(
  archive: Readable,
  src: { top: string; wanted: string; isDir: boolean; content: boolean },
  dst: string,
): Promise<void> {
  const st = fs.statSync(dst, { throwIfNoEntry: false });
  const target = targetFor({ exists: !!st, isDir: !!st?.isDirectory(), path: dst }, src, dst);
  let dir = target.dir;
  if (src.content && target.rename !== undefined) {
    // SRC/. to a new name: the name is made, the content goes into it
    dir = path.join(target.dir, target.rename);
    fs.mkdirSync(dir);
  }
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new BerthError('INVALID_ARGUMENT', `destination directory ${quote(dir)} does not exist`);
  const name = target.rename ?? src.wanted;
  const rebase = !src.content && name !== src.top ? { from: src.top, to: name } : undefined;
  const view = hostDirView(dir);
  try {
    await Extractor.open(view, '/', rebase ? { rebase } : {}).extract(archive, 'archive from the container');
  } finally {
    view.close();
  }
}
