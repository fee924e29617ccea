/**
 * docker's --mount: one CSV record of KEY=VALUE fields (type=bind|volume|tmpfs, source, target,
 * readonly, bind-propagation, bind-nonrecursive, volume-nocopy, volume-label, volume-opt,
 * tmpfs-size, tmpfs-mode, consistency), read as docker's CLI reads it (Go's encoding/csv, so a
 * field may be quoted: "target=/a,b") and checked as docker's daemon checks it. Pure functions:
 * whether a bind's source exists is decided at create (container-volumes.ts), where docker does.
 */
import * as path from 'node:path';
import { BerthError } from '../errors';
import { quote } from '../util/quote';
import { checkVolumeName } from '../volume/names';
import type { TmpfsSpec } from './filesystem-options';
import { parseBytes } from './limits';
import type { VolumeSpec } from './types';
import { PROPAGATIONS } from './volume-modes';

const err = (value: string, why: string) => new BerthError('INVALID_ARGUMENT', `Invalid --mount ${quote(value)}: ${why}`);

/** One CSV record as Go's csv.Reader reads it (docker's opts.MountOpt): comma-separated fields, a
 *  field that starts with " is quoted ("" inside it is one "), a " elsewhere is an error. */
export function splitCsv(value: string): string[] {
  if (value === '') throw err(value, 'it is empty; give type=...,target=...');
  // Go would end the record at a line break and ignore the rest: refused rather than half-read
  if (/[\r\n\0]/.test(value)) throw err(value, 'it holds a line break or NUL');
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= value.length) throw err(value, 'a quoted field has no closing "');
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += value[i++];
      }
      if (i < value.length && value[i] !== ',') throw err(value, 'extraneous or missing " in a quoted field');
    } else {
      const end = value.indexOf(',', i);
      field = value.slice(i, end < 0 ? value.length : end);
      if (field.includes('"')) throw err(value, `bare " in the unquoted field ${quote(field)}; quote the whole field`);
      i += field.length;
    }
    fields.push(field);
    if (i >= value.length) return fields;
    i++; // the comma
  }
}

/** Go's strconv.ParseBool, as docker reads readonly=, volume-nocopy=, bind-nonrecursive=. */
function parseBool(value: string, field: string, raw: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw err(raw, `${quote(field)} takes true or false`);
}

const CONSISTENCY = ['default', 'consistent', 'cached', 'delegated'];
const BOOLEAN_KEYS = new Set(['readonly', 'ro', 'volume-nocopy', 'bind-nonrecursive']);

/** What one --mount becomes: a bind or volume of the container's volumes, or a tmpfs. */
export type ParsedMount = { volume: VolumeSpec; tmpfs?: undefined } | { tmpfs: TmpfsSpec; volume?: undefined };

interface Fields {
  type?: string;
  source?: string;
  target?: string;
  readonly: boolean;
  propagation?: string;
  nonRecursive: boolean;
  noCopy: boolean;
  labels: Record<string, string>;
  volumeOpts: string[];
  tmpfsSize?: number;
  tmpfsMode?: number;
  /** Which option families were given, for docker's "must not be specified" checks. */
  given: Set<'bind' | 'volume' | 'tmpfs'>;
}

function readFields(raw: string): Fields {
  const f: Fields = { readonly: false, nonRecursive: false, noCopy: false, labels: {}, volumeOpts: [], given: new Set() };
  for (const field of splitCsv(raw)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    if (value === undefined && !BOOLEAN_KEYS.has(key)) throw err(raw, `the field ${quote(field)} must be a key=value pair`);
    const bool = () => (value === undefined ? true : parseBool(value, key, raw));
    switch (key) {
      case 'type':
        if (!['bind', 'volume', 'tmpfs'].includes(value!))
          throw err(raw, `the type ${quote(value)} is not one of bind, volume, tmpfs (npipe and cluster are not Linux's)`);
        f.type = value;
        break;
      case 'source':
      case 'src':
        f.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        f.target = value;
        break;
      case 'readonly':
      case 'ro':
        f.readonly = bool();
        break;
      case 'consistency':
        if (!CONSISTENCY.includes(value!.toLowerCase())) throw err(raw, `consistency takes one of ${CONSISTENCY.join(', ')}`);
        break; // macOS's; nothing to do on Linux (as docker)
      case 'bind-propagation':
        if (!PROPAGATIONS.includes(value!.toLowerCase())) throw err(raw, `bind-propagation takes one of ${PROPAGATIONS.join(', ')}`);
        f.propagation = value!.toLowerCase();
        f.given.add('bind');
        break;
      case 'bind-nonrecursive':
        f.nonRecursive = bool();
        f.given.add('bind');
        break;
      case 'volume-nocopy':
        f.noCopy = bool();
        f.given.add('volume');
        break;
      case 'volume-driver':
        if (value !== 'local') throw err(raw, `volume-driver ${quote(value)}: berth has only the local driver`);
        f.given.add('volume');
        break;
      case 'volume-label': {
        const leq = value!.indexOf('=');
        const k = leq < 0 ? value! : value!.slice(0, leq);
        if (k === '') throw err(raw, 'volume-label takes KEY=VALUE');
        f.labels[k] = leq < 0 ? '' : value!.slice(leq + 1);
        f.given.add('volume');
        break;
      }
      case 'volume-opt':
        f.volumeOpts.push(value!);
        f.given.add('volume');
        break;
      case 'tmpfs-size':
        f.tmpfsSize = parseBytes(value!, '--mount tmpfs-size');
        if (f.tmpfsSize <= 0) throw err(raw, 'tmpfs-size takes a size above 0, like 64m');
        f.given.add('tmpfs');
        break;
      case 'tmpfs-mode':
        if (!/^0?[0-7]{1,4}$/.test(value!)) throw err(raw, `tmpfs-mode takes an octal mode like 1777 but received ${quote(value)}`);
        f.tmpfsMode = parseInt(value!, 8);
        f.given.add('tmpfs');
        break;
      default:
        throw err(raw, `unexpected key ${quote(key)} in ${quote(field)}`);
    }
  }
  return f;
}

/** One --mount, checked as docker's daemon checks it (validateMountConfig). */
export function parseMount(raw: string): ParsedMount {
  const f = readFields(raw);
  const type = f.type ?? 'volume'; // docker's default type
  for (const other of ['bind', 'volume', 'tmpfs'] as const)
    if (other !== type && f.given.has(other)) throw err(raw, `${other} options do not apply to type=${type}`);
  if (f.target === undefined || f.target === '') throw err(raw, 'target is required, like target=/data');
  if (!path.posix.isAbsolute(f.target) || f.target.includes('\0'))
    throw err(raw, `the target ${quote(f.target)} must be an absolute path in the container`);
  const target = path.posix.normalize(f.target).replace(/(.)\/+$/, '$1');
  if (target === '/')
    throw err(raw, 'the target "/" is the container\'s root; choose a directory below it (--read-only makes / read-only)');
  if (type === 'tmpfs') {
    if (f.source) throw err(raw, 'a tmpfs has no source; drop source=');
    // moby: docker's --tmpfs defaults, then what --mount gave (size in bytes, mode in octal)
    const options = ['noexec', 'nosuid', 'nodev', ...(f.readonly ? ['ro'] : [])];
    if (f.tmpfsSize !== undefined) options.push(`size=${f.tmpfsSize}`);
    if (f.tmpfsMode !== undefined) options.push(`mode=${f.tmpfsMode.toString(8)}`);
    return { tmpfs: { containerPath: target, options, mount: true } };
  }
  if (type === 'bind') {
    if (!f.source) throw err(raw, 'a bind needs source=HOST_PATH');
    if (!path.isAbsolute(f.source)) throw err(raw, `the bind source ${quote(f.source)} must be an absolute host path`);
    return {
      volume: {
        hostPath: path.resolve(f.source),
        containerPath: target,
        readonly: f.readonly,
        mustExist: true,
        mount: true,
        ...(f.propagation ? { propagation: f.propagation } : {}),
        ...(f.nonRecursive ? { nonRecursive: true } : {}),
      },
    };
  }
  if (f.volumeOpts.length > 0)
    throw err(raw, `volume-opt ${quote(f.volumeOpts[0])}: berth's local driver takes no options; drop volume-opt`);
  if (f.source) checkVolumeName(f.source);
  return {
    volume: {
      hostPath: '',
      containerPath: target,
      readonly: f.readonly,
      mount: true,
      ...(f.source ? { volume: f.source } : { anonymous: true }),
      ...(f.noCopy ? { noCopy: true } : {}),
      ...(Object.keys(f.labels).length > 0 ? { labels: f.labels } : {}),
    },
  };
}

/** Every --mount: the binds and volumes, and the tmpfs mounts. */
export function parseMounts(values: readonly string[] | undefined): { volumes: VolumeSpec[]; tmpfs: TmpfsSpec[] } {
  const volumes: VolumeSpec[] = [];
  const tmpfs: TmpfsSpec[] = [];
  for (const v of values ?? []) {
    const m = parseMount(v);
    if (m.volume) volumes.push(m.volume);
    else tmpfs.push(m.tmpfs);
  }
  return { volumes, tmpfs };
}

/** --tmpfs's mounts with --mount's tmpfs ones after them; a mount point used twice is refused, as
 *  docker refuses it. */
export function withMountTmpfs(tmpfs: TmpfsSpec[], mounts: readonly string[] | undefined, volumeTargets: readonly string[]): TmpfsSpec[] {
  const out = [...tmpfs];
  for (const t of parseMounts(mounts).tmpfs) {
    if (out.some((o) => o.containerPath === t.containerPath) || volumeTargets.includes(t.containerPath))
      throw new BerthError(
        'INVALID_ARGUMENT',
        `Duplicate mount point ${quote(t.containerPath)}: a --mount type=tmpfs and another mount both mount there; keep one`,
      );
    out.push(t);
  }
  return out;
}
