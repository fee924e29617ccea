import * as fs from 'node:fs';
import * as path from 'node:path';

/** Write a file so that readers see the old or the new content, never a torn one: temp file, then
 *  rename. `durable` adds an fsync first, for records that must survive a power loss (images); a
 *  container's state is re-derived from the live process anyway, and an fsync costs a millisecond
 *  on the start path. */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644, durable = false): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeFileSync(fd, data);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function writeJsonAtomic(file: string, value: unknown, mode = 0o644, durable = false): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n', mode, durable);
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** readJson, or undefined when the file does not exist. Checked first rather than caught: a thrown
 *  ENOENT builds an Error with a stack trace, which costs more than the read on a start path. */
export function readJsonIfExists<T>(file: string): T | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    return readJson<T>(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
