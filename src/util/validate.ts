/**
 * Type checks at the API boundary. TypeScript's types vanish at run time: a JavaScript caller (or
 * a JSON body passed through) can hand berth `cmd: 'true'`, `user: {uid: 0}` or a string with a NUL,
 * which would otherwise surface deep inside as a TypeError, run the wrong thing, or be cut short at
 * the NUL by the C++ side. Each check throws one line naming the field, what it expects, what it got.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { describe, quote } from './quote';

/** Throws when value is not what field must be. Called only for values that are not undefined,
 *  except for required fields. */
export type Check = (value: unknown, field: string) => void;
export type Schema = Record<string, Check>;

/** `Expected cmd to be an array of strings but received a string "true"; pass ["true"]` */
export function typeError(field: string, expected: string, value: unknown, fix?: string): BerthError {
  return new BerthError('INVALID_ARGUMENT', `Expected ${field} to be ${expected} but received ${describe(value)}${fix ? `; ${fix}` : ''}`);
}

/** A C string ends at its first NUL: the kernel (paths, argv, env) would silently see less than given. */
export function checkNoNul(s: string, field: string): void {
  if (s.includes('\0')) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Expected ${field} to be a string without NUL bytes but received ${quote(s)}; the system would cut it at the NUL`,
    );
  }
}

/** A string without NUL; `nonEmpty` where an empty one names nothing. */
export function str(opts: { nonEmpty?: boolean; expected?: string } = {}): Check {
  const expected = opts.expected ?? (opts.nonEmpty ? 'a non-empty string' : 'a string');
  return (v, field) => {
    if (typeof v !== 'string') throw typeError(field, expected, v, typeof v === 'number' ? `pass ${quote(String(v))}` : undefined);
    checkNoNul(v, field);
    if (opts.nonEmpty && v === '') throw typeError(field, expected, v);
  };
}

/** An array of strings without NUL. A single string is refused, not split into characters or
 *  wrapped: docker's API takes Cmd as an array, and a string's meaning (one argument, or a shell
 *  line to split) would be a guess. */
export function strings(opts: { nonEmpty?: boolean } = {}): Check {
  return arrayOf(str(), opts.nonEmpty ? 'a non-empty array of strings' : 'an array of strings', opts);
}

/** An array whose items each pass `item`, named field[0], field[1], ... in messages. */
export function arrayOf(item: Check, expected: string, opts: { nonEmpty?: boolean } = {}): Check {
  return (v, field) => {
    if (!Array.isArray(v)) throw typeError(field, expected, v, typeof v === 'string' ? `pass ${quote([v])}` : undefined);
    if (opts.nonEmpty && v.length === 0) throw typeError(field, expected, v);
    v.forEach((x, i) => item(x, `${field}[${i}]`));
  };
}

export const bool: Check = (v, field) => {
  if (typeof v !== 'boolean') throw typeError(field, 'true or false', v);
};

/** A finite number (NaN and Infinity are no amount of anything), optionally a whole one in a range. */
export function num(opts: { integer?: boolean; min?: number; max?: number } = {}): Check {
  const kind = opts.integer ? 'an integer' : 'a number';
  const range =
    opts.min !== undefined && opts.max !== undefined
      ? ` from ${opts.min} to ${opts.max}`
      : opts.min !== undefined
        ? ` of at least ${opts.min}`
        : opts.max !== undefined
          ? ` of at most ${opts.max}`
          : '';
  const expected = `${kind}${range}`;
  return (v, field) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || (opts.integer && !Number.isSafeInteger(v))) throw typeError(field, expected, v);
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) throw typeError(field, expected, v);
  };
}

/** One of a few strings. */
export function oneOf(...values: string[]): Check {
  const expected =
    values.length === 1
      ? quote(values[0])
      : `${values
          .slice(0, -1)
          .map((x) => quote(x))
          .join(', ')} or ${quote(values[values.length - 1])}`;
  return (v, field) => {
    if (typeof v !== 'string' || !values.includes(v)) throw typeError(field, expected, v);
  };
}

/** The first of the checks whose kind matches; `expected` names them all for the error. */
export function either(expected: string, ...alternatives: Array<[test: (v: unknown) => boolean, check: Check]>): Check {
  return (v, field) => {
    const alt = alternatives.find(([test]) => test(v));
    if (!alt) throw typeError(field, expected, v);
    alt[1](v, field);
  };
}

/** A string, or a finite number (limits: `memory: '64m'` or `memory: 67108864`). */
export const strOrNum: Check = either(
  'a string or a finite number',
  [(v) => typeof v === 'string', str()],
  [(v) => typeof v === 'number', num()],
);

/** A plain object of string values (env as {KEY: 'value'}). */
export function stringRecord(): Check {
  const item = str();
  return (v, field) => {
    if (!isPlainObject(v)) throw typeError(field, 'an object of strings', v);
    for (const [k, x] of Object.entries(v)) {
      checkNoNul(k, `a key of ${field}`);
      item(x, `${field}[${quote(k)}]`);
    }
  };
}

/** A nested object checked against its own schema (a volume's {hostPath, containerPath}). */
export function object(schema: Schema, required: string[] = []): Check {
  return (v, field) => checkOptions(v, schema, field, { required, prefix: field });
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks an options object: each known key that is set, every required key, and no unknown keys —
 * a misspelt option silently ignored (`memroy: '64m'`) is a limit that is not there. Keys set to
 * undefined count as not set, as TypeScript's optional properties do.
 * `what` names the object in messages ("the options of run()"); `prefix` is the field of a nested
 * object, put before its keys ("volumes[0].hostPath").
 */
export function checkOptions(value: unknown, schema: Schema, what: string, opts: { required?: string[]; prefix?: string } = {}): void {
  if (!isPlainObject(value)) throw typeError(what, 'an object', value);
  const name = (key: string) => (opts.prefix ? `${opts.prefix}.${key}` : key);
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const check = Object.prototype.hasOwnProperty.call(schema, key) ? schema[key] : undefined;
    if (!check) throw unknownKey(key, Object.keys(schema), what);
    check(v, name(key));
  }
  for (const key of opts.required ?? []) {
    if (value[key] === undefined) schema[key](undefined, name(key));
  }
}

function unknownKey(key: string, known: string[], what: string): BerthError {
  const near =
    known.find((k) => k.toLowerCase() === key.toLowerCase()) ??
    known.find((k) => distance(k, key) <= 2) ??
    (key.length >= 3 ? known.find((k) => k.startsWith(key) || key.startsWith(k)) : undefined);
  const hint = near !== undefined ? `did you mean ${quote(near)}?` : `the known ones are ${known.join(', ')}`;
  return new BerthError('INVALID_ARGUMENT', `Unknown option ${quote(key)} in ${what}; ${hint}`);
}

/** Levenshtein distance, for "did you mean": option names are short, so the O(n·m) table is tiny. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * A state root must be a directory, or not exist yet (it is made on first use, as always). A file
 * there, or where one of its parents should be, would otherwise surface as an empty `ps` or as an
 * ENOTDIR deep inside whatever touched it first. Other errors (EACCES, ...) are left to that use.
 */
export function checkRootDirectory(dir: string, what: string, flag: string): void {
  const fix = `pass ${flag} a directory (or remove the file)`;
  const shown = (p: string) => (quote(p) === `"${p}"` ? p : quote(p));
  try {
    if (fs.statSync(dir).isDirectory()) return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ENOENT of a dangling symlink: mkdir would fail with EEXIST
    if (code === 'ENOENT' && !fs.lstatSync(dir, { throwIfNoEntry: false })) return;
    if (code === 'ENOTDIR') {
      // name the file that stands where a parent directory should be
      const exists = (p: string) => {
        try {
          return !!fs.statSync(p);
        } catch {
          return false;
        }
      };
      let p = path.resolve(dir);
      while (path.dirname(p) !== p && !exists(p)) p = path.dirname(p);
      throw new BerthError('INVALID_ARGUMENT', `The ${what} ${shown(dir)} is not a directory: ${shown(p)} is a file; ${fix}`);
    }
    if (code !== 'ENOENT') return;
  }
  throw new BerthError('INVALID_ARGUMENT', `The ${what} ${shown(dir)} is not a directory; ${fix}`);
}
