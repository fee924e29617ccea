import { readJsonIfExists, writeJsonAtomic } from '../../util/fs';
import type { ImageRecord } from '../types';
import type { StoredImage } from './records';

/** Fully qualified name -> image ID. */
export type NameMap = Record<string, string>;

/**
 * root/repositories.json, the one place names live. Image records do not repeat them, so renaming
 * is a single atomic file replacement and can never disagree with itself.
 */
export class Repositories {
  constructor(private readonly file: string) {}

  read(): NameMap {
    return readJsonIfExists<NameMap>(this.file) ?? {};
  }

  write(names: NameMap): void {
    const sorted: NameMap = {};
    for (const k of Object.keys(names).sort()) sorted[k] = names[k];
    writeJsonAtomic(this.file, sorted, 0o644, true);
  }

  static namesOf(names: NameMap, id: string): string[] {
    return Object.keys(names)
      .filter((n) => names[n] === id)
      .sort();
  }
}

/** A stored image with the names repositories.json gives it. */
export function withNames(image: StoredImage, names: NameMap): ImageRecord {
  return { ...image, names: Repositories.namesOf(names, image.id) };
}
