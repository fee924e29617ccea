import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../../util/fs';
import { digestHex } from '../digest';
import type { ImageRecord } from '../types';

/** An image record as stored: names live in repositories.json only. */
export type StoredImage = Omit<ImageRecord, 'names'>;

const RECORD_FILE = /^[a-f0-9]{64}\.json$/;

/** root/images/<config-hex>.json, one file per image, each replaced atomically. */
export class ImageRecords {
  readonly dir: string;

  constructor(root: string) {
    this.dir = path.join(root, 'images');
  }

  private path(id: string): string {
    return path.join(this.dir, `${digestHex(id)}.json`);
  }

  get(id: string): StoredImage | undefined {
    return readJsonIfExists<StoredImage>(this.path(id));
  }

  /** IDs of all images; atomic-write leftovers (dot files) are not images. */
  ids(): string[] {
    let files: string[];
    try {
      files = fs.readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return files.filter((f) => RECORD_FILE.test(f)).map((f) => `sha256:${f.slice(0, 64)}`);
  }

  /** Every stored image; one removed concurrently between listing and reading is simply absent. */
  all(): StoredImage[] {
    return this.ids()
      .map((id) => this.get(id))
      .filter((r): r is StoredImage => r !== undefined);
  }

  save(image: StoredImage): void {
    fs.mkdirSync(this.dir, { recursive: true });
    writeJsonAtomic(this.path(image.id), image, 0o644, true);
  }

  remove(id: string): void {
    fs.rmSync(this.path(id), { force: true });
  }

  /** Temp files of writes interrupted by a crash (writeJsonAtomic names them .<file>.<pid>.tmp). */
  removeLeftovers(): void {
    let files: string[] = [];
    try {
      files = fs.readdirSync(this.dir);
    } catch {
      return;
    }
    for (const f of files) if (f.startsWith('.') && f.endsWith('.tmp')) fs.rmSync(path.join(this.dir, f), { force: true });
  }
}
