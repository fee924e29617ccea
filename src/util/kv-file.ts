/**
 * docker's --env-file and --label-file format (docker/cli opts/file.go): one KEY=VALUE per line,
 * the value kept exactly as written (no quotes removed, no trailing blanks trimmed), blank lines
 * and lines starting with # skipped, leading whitespace ignored. A line that is only a KEY is
 * the caller's variable of that name (env files; dropped when the caller has none) or nothing
 * (label files).
 */
import * as fs from 'node:fs';
import { BerthError } from '../errors';
import { quote } from './quote';

/** Reads one file for `flag` (its name in messages). `lookup`: what a bare KEY takes. */
export function readKeyValueFile(file: string, flag: string, lookup?: (key: string) => string | undefined): string[] {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new BerthError('INVALID_ARGUMENT', `Cannot read ${flag} ${quote(file)}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  return parseKeyValueText(data, `${flag} ${quote(file)}`, lookup);
}

/** The entries of a file's content; `where` names the file in messages. */
export function parseKeyValueText(data: Buffer, where: string, lookup?: (key: string) => string | undefined): string[] {
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  const out: string[] = [];
  splitLines(data).forEach((bytes, i) => {
    const at = `line ${i + 1} of ${where}`;
    let raw: string;
    try {
      raw = utf8.decode(bytes).replace(/\r$/, '');
    } catch {
      throw new BerthError('INVALID_ARGUMENT', `Invalid UTF-8 on ${at}; save the file as UTF-8`);
    }
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line.trimEnd() : line.slice(0, eq);
    if (key === '') throw new BerthError('INVALID_ARGUMENT', `No variable name on ${at}: ${quote(raw)}; write KEY=VALUE`);
    if (/\s/.test(key)) throw new BerthError('INVALID_ARGUMENT', `Variable ${quote(key)} on ${at} contains whitespace; write KEY=VALUE`);
    if (eq >= 0) out.push(`${key}=${line.slice(eq + 1)}`);
    else {
      const value = lookup?.(key);
      if (value !== undefined) out.push(`${key}=${value}`);
    }
  });
  return out;
}

/** The bytes of each line, without its \n. */
function splitLines(data: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
    lines.push(data.subarray(start, nl));
    start = nl + 1;
  }
  lines.push(data.subarray(start));
  return lines;
}
