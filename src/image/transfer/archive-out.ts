import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../../errors';
import { quote } from '../../util/quote';

/**
 * Writes an archive to `out`: an open fd (such as 1) as is, or a file path through a temp file beside
 * it that is synced and renamed, so a failure never leaves a partial archive under that name.
 */
export function writeArchiveTo(out: string | number, what: string, write: (fd: number) => void): void {
  if (typeof out === 'number') {
    write(out);
    return;
  }
  const file = path.resolve(out);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'w', 0o644);
  } catch (e) {
    throw new BerthError('INVALID_ARGUMENT', `Cannot write the ${what} ${quote(file)}; check that its directory exists and is writable`, {
      cause: e,
    });
  }
  try {
    try {
      write(fd);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
