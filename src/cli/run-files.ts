/**
 * The files `berth run` reads or writes for docker's flags, as docker's client does (the engine
 * never sees them): --env-file and --label-file entries go before -e and -l ones, so that a flag
 * on the command line wins; --cidfile is claimed before the container is made and filled with
 * its ID once it exists.
 */
import * as fs from 'node:fs';
import { BerthError } from '../errors';
import { quote } from '../util/quote';
import { readKeyValueFile } from '../util/kv-file';

/** --env-file's entries (a bare KEY takes this process's value), then -e's. */
export function envWithFiles(files: readonly string[] | undefined, env: string[] | undefined): string[] | undefined {
  if (!files?.length) return env;
  const fromFiles = files.flatMap((f) => readKeyValueFile(f, '--env-file', (key) => process.env[key]));
  return [...fromFiles, ...(env ?? [])];
}

/** --label-file's entries (a bare KEY is dropped, as docker's), then -l's. */
export function labelsWithFiles(files: readonly string[] | undefined, labels: string[] | undefined): string[] | undefined {
  if (!files?.length) return labels;
  return [...files.flatMap((f) => readKeyValueFile(f, '--label-file')), ...(labels ?? [])];
}

export interface Cidfile {
  /** Writes the container's full ID. */
  write(id: string): void;
  /** The container was never made: the file goes. */
  abandon(): void;
}

/** Creates --cidfile empty, refusing one that exists (another container's, probably). */
export function claimCidfile(file: string | undefined): Cidfile {
  if (file === undefined) return { write() {}, abandon() {} };
  if (file === '') throw new BerthError('INVALID_ARGUMENT', 'Expected a file path for --cidfile but received ""');
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new BerthError(
        'INVALID_ARGUMENT',
        `Container ID file ${quote(file)} exists: make sure the other container is not running, or delete the file`,
      );
    throw new BerthError('INVALID_ARGUMENT', `Cannot create --cidfile ${quote(file)}: ${(e as Error).message}`);
  }
  fs.closeSync(fd);
  return {
    write: (id) => fs.writeFileSync(file, id),
    abandon: () => fs.rmSync(file, { force: true }),
  };
}
