import * as fs from 'node:fs';
import * as path from 'node:path';

const LINK_FILE = 'link';
const NAME = /^[A-Z0-9]{8}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * Short names for layer diff dirs, as docker's overlay2 driver keeps them: root/l/<8 chars> is a symlink to
 * ../layers/<chain-hex>/diff, and the layer dir's `link` file holds the name. mount(2) copies at most one
 * page of options, and 64-hex-digit paths fill it at ~40 layers; through the short links (root + 11 bytes
 * each) a 100-layer image fits. overlayfs resolves each lowerdir path, symlinks included, once at mount.
 * Names are made and removed under the store lock.
 */
export class ShortLinks {
  readonly dir: string;

  constructor(
    root: string,
    private readonly layersDir: string,
  ) {
    this.dir = path.join(root, 'l');
  }

  /** The short name of the layer in `layerDir`, choosing and recording a fresh one if it has none yet. */
  name(layerDir: string): string {
    const existing = this.read(layerDir);
    if (existing) return existing;
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (;;) {
      const candidate = randomName();
      if (fs.existsSync(path.join(this.dir, candidate))) continue;
      fs.writeFileSync(path.join(layerDir, LINK_FILE), candidate);
      return candidate;
    }
  }

  /** The layer's symlink, (re)created when missing (a crash between rename and symlink). Returns its path. */
  ensure(layerDir: string): string {
    const name = this.name(layerDir);
    const link = path.join(this.dir, name);
    const target = path.join('..', path.basename(this.layersDir), path.basename(layerDir), 'diff');
    let current: string | undefined;
    try {
      current = fs.readlinkSync(link);
    } catch {
      current = undefined;
    }
    if (current !== target) {
      fs.rmSync(link, { force: true });
      fs.symlinkSync(target, link);
    }
    return link;
  }

  /** The symlink's path if it exists and points at the layer, else undefined (without creating anything). */
  existing(layerDir: string): string | undefined {
    const name = this.read(layerDir);
    if (!name) return undefined;
    const link = path.join(this.dir, name);
    try {
      return fs.readlinkSync(link) === path.join('..', path.basename(this.layersDir), path.basename(layerDir), 'diff') ? link : undefined;
    } catch {
      return undefined;
    }
  }

  /** Remove the symlink of a layer being deleted (its directory may already be moved away: name from `link`). */
  drop(layerDir: string): void {
    const name = this.read(layerDir);
    if (name) fs.rmSync(path.join(this.dir, name), { force: true });
  }

  /** Symlinks whose layer is gone (a crash mid-removal); returns the names removed. */
  removeDangling(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const n of names) {
      const link = path.join(this.dir, n);
      if (!fs.existsSync(link)) {
        fs.rmSync(link, { force: true });
        removed.push(n);
      }
    }
    return removed;
  }

  private read(layerDir: string): string | undefined {
    try {
      const name = fs.readFileSync(path.join(layerDir, LINK_FILE), 'utf8').trim();
      return NAME.test(name) ? name : undefined;
    } catch {
      return undefined;
    }
  }
}

function randomName(): string {
  const bytes = (require('node:crypto') as typeof import('node:crypto')).randomBytes(8);
  return [...bytes].map((b) => ALPHABET[b % ALPHABET.length]).join('');
}
