import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { quote } from '../util/quote';
import type { Spec } from './spec';

/** A bundle's config.json, parsed and checked for the shape berth relies on. A syntax error names
 *  the line and column. */
export function readConfig(bundle: string): Spec {
  const file = path.join(bundle, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new BerthError('INVALID_ARGUMENT', `The bundle ${quote(bundle)} has no config.json; make one with \`berth-oci spec\``);
    throw new BerthError('INVALID_ARGUMENT', `Cannot read ${quote(file)}: ${code}`);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message);
    const where = at ? lineColumn(text, Number(at[1])) : '';
    throw new BerthError('INVALID_ARGUMENT', `${quote(file)} is not valid JSON${where}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    throw new BerthError('INVALID_ARGUMENT', `${quote(file)}: expected a JSON object`);
  const s = spec as Spec;
  if (typeof s.ociVersion !== 'string')
    throw new BerthError('INVALID_ARGUMENT', `config.json ociVersion: expected a version string like "1.0.2"`);
  for (const [key, kind] of [
    ['process', 'object'],
    ['root', 'object'],
    ['linux', 'object'],
    ['mounts', 'array'],
    ['hooks', 'object'],
    ['annotations', 'object'],
  ] as const) {
    const v = (s as unknown as Record<string, unknown>)[key];
    if (v === undefined) continue;
    const ok = kind === 'array' ? Array.isArray(v) : typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!ok) throw new BerthError('INVALID_ARGUMENT', `config.json ${key}: expected an ${kind} but received ${quote(v)}`);
  }
  return s;
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return ` at line ${before.length} column ${before[before.length - 1].length + 1}`;
}
