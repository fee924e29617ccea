/**
 * The init layer of an image (docker has one too): the mount targets every container of the image
 * needs and the image lacks (/etc/hosts, /etc/hostname, /etc/resolv.conf, /proc, /sys, /dev), made
 * once per image as empty files and directories in `<root>/layers/<top chain id>/init`, and mounted
 * as the topmost lower layer. Without it, every start creates them in the container's write layer:
 * a copy-up of /etc and four new inodes per container, and an upper dir that is not the user's
 * changes alone.
 *
 * What the image has is left alone: a target is only added when no layer has it (a whiteout counts
 * as absent) and its parent is a plain directory in the image, so a symlinked /etc/resolv.conf is
 * still bind-mounted where the link leads, exactly as without an init layer. The layer is built in
 * a temporary directory and renamed into place: concurrent starts agree on one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../native';
import { processExists } from '../util/proc';
import { randomHexId } from '../util/random';

const DIRS = ['proc', 'sys', 'dev', 'etc'];
const FILES = ['etc/hostname', 'etc/hosts', 'etc/resolv.conf'];
const OPAQUE_XATTR = 'trusted.overlay.opaque';

type Kind = 'dir' | 'file' | 'other' | undefined;

/** The init layer of an image whose layer dirs are `layers` (top first), made if needed; undefined
 *  when the image has every target already or its layers are not in berth's layer store. */
export function ensureInitLayer(layers: string[]): string | undefined {
  if (layers.length === 0) return undefined;
  const top = layerHome(layers[0]);
  if (!top) return undefined;
  const dir = path.join(top, 'init');
  let entries: string[] | undefined;
  try {
    entries = fs.readdirSync(dir);
  } catch {
    entries = undefined;
  }
  if (entries === undefined) {
    build(dir, layers);
    entries = fs.readdirSync(dir);
  }
  return entries.length > 0 ? dir : undefined;
}

/** `<root>/layers/<chain>` of a layer's diff dir, or of a short link to one. */
function layerHome(layer: string): string | undefined {
  let diff = layer;
  if (path.basename(layer) !== 'diff') {
    try {
      diff = path.resolve(path.dirname(layer), fs.readlinkSync(layer));
    } catch {
      return undefined;
    }
  }
  return path.basename(diff) === 'diff' ? path.dirname(diff) : undefined;
}

function build(dir: string, layers: string[]): void {
  // what a start killed while building left (its pid is in the name)
  for (const name of fs.readdirSync(path.dirname(dir))) {
    const m = /^init\.tmp-(\d+)-[0-9a-f]+$/.exec(name);
    if (m && !processExists(Number(m[1]))) fs.rmSync(path.join(path.dirname(dir), name), { recursive: true, force: true });
  }
  const tmp = `${dir}.tmp-${process.pid}-${randomHexId().slice(0, 8)}`;
  fs.mkdirSync(tmp, { mode: 0o755 });
  try {
    for (const d of DIRS) {
      if (lookup(layers, d) === undefined) fs.mkdirSync(path.join(tmp, d), { mode: 0o755 });
    }
    const copied = new Set<string>();
    for (const f of FILES) {
      const parent = path.posix.dirname(f);
      const parentKind = lookup(layers, parent) ?? (fs.existsSync(path.join(tmp, parent)) ? 'dir' : undefined);
      if (parentKind !== 'dir' || lookup(layers, f) !== undefined) continue;
      if (!fs.existsSync(path.join(tmp, parent))) {
        fs.mkdirSync(path.join(tmp, parent), { mode: 0o755 });
        copied.add(parent);
      }
      fs.writeFileSync(path.join(tmp, f), '', { mode: 0o644 });
    }
    // the merged /etc shows the topmost layer's directory, this one: it must look like the image's
    // (set last: the files made in it changed its times)
    for (const d of copied) copyAttributes(layers, d, path.join(tmp, d));
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      // another start made it first: theirs is as good as ours
      if (!['EEXIST', 'ENOTEMPTY'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Mode, owner and times of the image's directory rel onto dir. */
function copyAttributes(layers: string[], rel: string, dir: string): void {
  for (const layer of layers) {
    const st = fs.lstatSync(path.join(layer, rel), { throwIfNoEntry: false });
    if (!st?.isDirectory()) continue;
    fs.chownSync(dir, st.uid, st.gid);
    fs.chmodSync(dir, st.mode & 0o7777);
    fs.utimesSync(dir, st.atime, st.mtime);
    return;
  }
}

/** What the merged image has at rel: the first layer (top down) with an entry decides; a whiteout
 *  (0/0 character device) or an opaque directory above ends the search. */
function lookup(layers: string[], rel: string): Kind {
  const parts = rel.split('/');
  for (const layer of layers) {
    let p = layer;
    for (let i = 0; i < parts.length; i++) {
      p = path.join(p, parts[i]);
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (!st) break; // nothing of it in this layer: the next one down
      if (st.isCharacterDevice() && st.rdev === 0) return undefined; // whited out
      const last = i === parts.length - 1;
      if (!st.isDirectory()) return last ? (st.isFile() ? 'file' : 'other') : 'other';
      if (last) return 'dir';
      if (isOpaque(p)) {
        // the lower layers' contents of this directory are hidden: the rest must be in this one
        return lookupIn(p, parts.slice(i + 1));
      }
    }
  }
  return undefined;
}

function lookupIn(dir: string, parts: string[]): Kind {
  const p = path.join(dir, ...parts);
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st || (st.isCharacterDevice() && st.rdev === 0)) return undefined;
  return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
}

/** Opaque as overlayfs sees it (the xattr berth's layer writer sets). */
function isOpaque(dir: string): boolean {
  return native().getXattr(dir, OPAQUE_XATTR) === 'y';
}
