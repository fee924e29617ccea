/**
 * docker's copy-up: the first time an empty volume is mounted over a directory the image has, the
 * image's content there is copied into it (modes, owners, times, symlinks as symlinks). berth reads
 * the image's layers directly (the container's overlay is mounted only inside its own mount
 * namespace), merging them as overlayfs does: the top layer wins, a 0/0 character device hides a
 * name below it, an opaque directory hides the lower layers' content of that directory.
 * Symlinks on the way to the path resolve inside the image (never the host's root), and symlinks
 * below it are copied as links, never followed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../native';

const MAX_SYMLINKS = 40;

/** Layer directories (top first) in which a merged directory has content, the upper ones first. */
type DirLayers = string[];

function isWhiteout(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function isOpaque(dir: string): boolean {
  try {
    return native().getXattr(dir, 'trusted.overlay.opaque') === 'y';
  } catch {
    return false;
  }
}

function lstat(p: string): fs.Stats | undefined {
  return fs.lstatSync(p, { throwIfNoEntry: false });
}

/** The visible entry `name` of a merged directory: its stat, its layer, and (a directory) the
 *  layers its content comes from. */
function child(dirLayers: DirLayers, rel: string, name: string): { st: fs.Stats; layer: string; layers: DirLayers } | undefined {
  for (let i = 0; i < dirLayers.length; i++) {
    const st = lstat(path.join(dirLayers[i], rel, name));
    if (!st) continue;
    if (isWhiteout(st) || name.startsWith('.wh.')) return undefined;
    if (!st.isDirectory()) return { st, layer: dirLayers[i], layers: [] };
    const layers: DirLayers = [];
    for (const l of dirLayers.slice(i)) {
      const p = path.join(l, rel, name);
      const s = lstat(p);
      if (!s) continue;
      if (!s.isDirectory()) break; // a file or whiteout here hides the lower ones
      layers.push(l);
      if (isOpaque(p)) break;
    }
    return { st, layer: dirLayers[i], layers };
  }
  return undefined;
}

/** The directory at containerPath in the merged image, its symlinks resolved inside the image:
 *  its path without symlinks and its layers; undefined when the image has no directory there. */
export function imageDirectory(layers: string[], containerPath: string): { rel: string; layers: DirLayers; st: fs.Stats } | undefined {
  let todo = containerPath.split('/');
  let done: string[] = [];
  let hops = 0;
  const walk = (parts: string[]): { layers: DirLayers; st?: fs.Stats } | undefined => {
    let cur: DirLayers = layers;
    let st: fs.Stats | undefined;
    for (let i = 0; i < parts.length; i++) {
      const c = child(cur, parts.slice(0, i).join('/'), parts[i]);
      if (!c || !c.st.isDirectory()) return undefined;
      cur = c.layers;
      st = c.st;
    }
    return { layers: cur, st };
  };
  let current = walk([]);
  while (todo.length > 0 && current) {
    const c = todo.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      done.pop(); // at the root, .. is the root
      current = walk(done);
      continue;
    }
    const found = child(current.layers, done.join('/'), c);
    if (!found) return undefined;
    if (found.st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINKS) return undefined;
      const target = fs.readlinkSync(path.join(found.layer, ...done, c));
      if (target.startsWith('/')) done = [];
      todo = [...target.split('/'), ...todo];
      current = walk(done);
      continue;
    }
    if (!found.st.isDirectory()) return undefined;
    done.push(c);
    current = { layers: found.layers, st: found.st };
  }
  if (!current) return undefined;
  const st = current.st ?? lstat(layers[layers.length - 1]);
  return st ? { rel: done.join('/'), layers: current.layers, st } : undefined;
}

/** Extended attributes of src onto out (security.capability among them, as docker's copy keeps
 *  it), but not overlayfs' own trusted.overlay.*, which mean nothing outside a layer. */
function copyXattrs(src: string, out: string): void {
  for (const [name, value] of native().listXattrs(src)) {
    if (!name.startsWith('trusted.overlay.')) native().setXattr(out, name, value);
  }
}

/** Copies the merged directory rel of the layers into dest (an existing directory). `links` maps
 *  a copied file's device:inode to its copy, so hard links stay hard links. */
function copyMerged(dirLayers: DirLayers, rel: string, dest: string, links: Map<string, string>): void {
  const names = new Set<string>();
  for (const l of dirLayers) {
    for (const n of fs.readdirSync(path.join(l, rel))) names.add(n);
  }
  for (const name of [...names].sort()) {
    const c = child(dirLayers, rel, name);
    if (!c) continue;
    const src = path.join(c.layer, rel, name);
    const out = path.join(dest, name);
    const { st } = c;
    if (st.isDirectory()) {
      fs.mkdirSync(out);
      copyMerged(c.layers, path.posix.join(rel, name), out, links);
    } else if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(src), out);
      fs.lchownSync(out, st.uid, st.gid);
      continue;
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? links.get(key) : undefined;
      if (first !== undefined) {
        fs.linkSync(first, out);
        continue;
      }
      if (st.nlink > 1) links.set(key, out);
      fs.copyFileSync(src, out, fs.constants.COPYFILE_EXCL);
    } else {
      continue; // devices, fifos and sockets: Node cannot make them, and an image's volume path rarely has one
    }
    fs.lchownSync(out, st.uid, st.gid);
    fs.chmodSync(out, st.mode & 0o7777); // after chown, which clears setuid bits
    copyXattrs(src, out); // after chown, which drops security.capability
    fs.utimesSync(out, st.atime, st.mtime);
  }
}

/**
 * Fills the empty directory dest with the image's content at containerPath and gives dest that
 * directory's owner and mode (docker's copyOwnership). False when there is nothing to copy: the
 * image has no directory there, or dest is not empty. On failure dest is emptied again.
 */
export function copyImageContent(layers: string[], containerPath: string, dest: string): boolean {
  if (fs.readdirSync(dest).length > 0) return false;
  const dir = imageDirectory(layers, containerPath);
  if (!dir) return false;
  try {
    copyMerged(dir.layers, dir.rel, dest, new Map());
    fs.chownSync(dest, dir.st.uid, dir.st.gid);
    fs.chmodSync(dest, dir.st.mode & 0o7777);
  } catch (e) {
    for (const n of fs.readdirSync(dest)) fs.rmSync(path.join(dest, n), { recursive: true, force: true });
    throw e;
  }
  return true;
}
