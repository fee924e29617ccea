import * as path from 'node:path';
import { BerthError, invalid } from '../../errors';
import type { ImageConfig } from '../types';
import { quote } from '../../util/quote';
import { parseSignal } from '../../util/signals';

type RunConfig = NonNullable<ImageConfig['config']>;

const SUPPORTED = 'CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER or WORKDIR';
/** Docker's default SHELL: a shell-form CMD or ENTRYPOINT runs through it. */
const SHELL = ['/bin/sh', '-c'];

/**
 * `docker commit --change`: Dockerfile instructions applied to the image's run config, in order, with the
 * Dockerfile's rules: exec form (JSON array) or shell form for CMD and ENTRYPOINT, an ENTRYPOINT drops the
 * inherited CMD unless a CMD came before it, WORKDIR relative to the previous one. The input config is not
 * modified.
 */
export function applyChanges(base: RunConfig | undefined, changes: string[]): RunConfig {
  const c: RunConfig = structuredClone(base ?? {});
  let cmdSet = false;
  for (const change of changes) {
    const m = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(change);
    if (!m) throw invalid('--change', `a Dockerfile instruction (${SUPPORTED}) like "CMD [\\"sh\\"]"`, change);
    const keyword = m[1].toUpperCase();
    const value = (m[2] ?? '').trim();
    if (value === '')
      throw new BerthError(
        'INVALID_ARGUMENT',
        `The --change ${quote(change)} has no value; write it as in a Dockerfile, e.g. "${keyword} ..."`,
      );
    switch (keyword) {
      case 'CMD':
        c.Cmd = commandForm(value, change);
        cmdSet = true;
        break;
      case 'ENTRYPOINT':
        c.Entrypoint = commandForm(value, change);
        if (!cmdSet) c.Cmd = null;
        break;
      case 'ENV':
        c.Env = setEnv(c.Env ?? [], pairs(value, change, 'ENV'));
        break;
      case 'LABEL':
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs(value, change, 'LABEL')) };
        break;
      case 'WORKDIR':
        c.WorkingDir = path.posix.resolve(c.WorkingDir || '/', unquote(value));
        break;
      case 'USER':
        c.User = unquote(value);
        break;
      case 'STOPSIGNAL':
        parseSignal(unquote(value), '--change STOPSIGNAL'); // what `stop` will send must be a signal
        c.StopSignal = unquote(value);
        break;
      case 'EXPOSE':
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of words(value, change)) {
          if (!/^\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/i.test(p)) throw invalid('--change EXPOSE', 'a port like 80 or 53/udp', p);
          c.ExposedPorts[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        break;
      default:
        throw invalid('--change', `one of ${SUPPORTED}`, change);
    }
  }
  return c;
}

/** `["a","b"]` is exec form; anything else is a shell command line. */
function commandForm(value: string, change: string): string[] {
  if (value.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = undefined;
    }
    if (Array.isArray(parsed) && parsed.every((s) => typeof s === 'string')) return parsed as string[];
    // Docker runs a malformed JSON array as a shell command; a typo then becomes a puzzling runtime error,
    // so refuse it here instead.
    throw invalid('--change', 'a JSON array of strings like ["sh", "-c", "echo hi"] (or a plain shell command)', change);
  }
  return [...SHELL, value];
}

/** `K=V K2="v 2"`, or the legacy single pair `K the rest is the value`. */
function pairs(value: string, change: string, keyword: string): Array<[string, string]> {
  const ws = words(value, change);
  if (!ws[0].includes('=')) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(value);
    if (!m) throw invalid(`--change ${keyword}`, 'KEY=VALUE', value);
    return [[m[1], unquote(m[2].trim())]];
  }
  return ws.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw invalid(`--change ${keyword}`, 'KEY=VALUE pairs', w);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function setEnv(env: string[], set: Array<[string, string]>): string[] {
  const out = [...env];
  for (const [k, v] of set) {
    const i = out.findIndex((e) => e === k || e.startsWith(`${k}=`));
    if (i >= 0) out[i] = `${k}=${v}`;
    else out.push(`${k}=${v}`);
  }
  return out;
}

/** Whitespace-separated words with Dockerfile quoting: "..." and '...' group, backslash escapes one character. */
function words(value: string, change: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let open: string | undefined;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && open !== "'" && i + 1 < value.length) {
      cur += value[++i];
      inWord = true;
    } else if (open) {
      if (ch === open) open = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      open = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (open) throw new BerthError('INVALID_ARGUMENT', `The --change ${quote(change)} has an unclosed ${open} quote`);
  if (inWord) out.push(cur);
  return out;
}

function unquote(value: string): string {
  const ws = words(value, value);
  return ws.length === 1 ? ws[0] : value;
}
