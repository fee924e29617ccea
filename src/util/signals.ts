/**
 * Signals as docker accepts them (moby's signal.ParseSignal and its Linux SignalMap): a name with or
 * without SIG in any case (TERM, sigterm, SIGRTMIN+3), or a number. Checked before anything is
 * looked up, so a bad signal is a usage error (exit 125), never a "not running" about the container.
 */
import * as os from 'node:os';
import { BerthError } from '../errors';
import { quote } from './quote';

/** Linux's real-time signals as glibc exposes them to programs: 32 and 33 are NPTL's own. */
const SIGRTMIN = 34;
const SIGRTMAX = 64;

function signalTable(): Map<string, number> {
  const m = new Map<string, number>();
  for (const [name, n] of Object.entries(os.constants.signals)) m.set(name.slice(3), n);
  m.set('CLD', m.get('CHLD') ?? 17);
  m.set('RTMIN', SIGRTMIN);
  m.set('RTMAX', SIGRTMAX);
  // docker names RTMIN+1..RTMIN+15 and RTMAX-14..RTMAX-1: between them every real-time signal once
  for (let i = 1; i <= 15; i++) m.set(`RTMIN+${i}`, SIGRTMIN + i);
  for (let i = 1; i <= 14; i++) m.set(`RTMAX-${i}`, SIGRTMAX - i);
  return m;
}

let table: Map<string, number> | undefined;

/** The signal number of `SIGTERM`, `TERM`, `term`, `15` or `SIGRTMIN+3`; a number from 1 to 64. */
export function parseSignal(value: unknown, option = '--signal'): number {
  const bad = () =>
    new BerthError(
      'INVALID_ARGUMENT',
      `Expected a signal like SIGTERM, TERM, 15 or SIGRTMIN+3 (numbers 1 to ${SIGRTMAX}) for ${option} but received ${quote(value)}`,
    );
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value > SIGRTMAX) throw bad();
    return value;
  }
  if (typeof value !== 'string') throw bad();
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n < 1 || n > SIGRTMAX) throw bad();
    return n;
  }
  table ??= signalTable();
  const upper = value.toUpperCase();
  const n = table.get(upper.startsWith('SIG') ? upper.slice(3) : upper);
  if (n === undefined) throw bad();
  return n;
}

/** `stop -t`: whole seconds from the CLI; the API takes any finite number of seconds from 0. */
export function parseStopTimeout(value: unknown, option = '--time'): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isFinite(n) || n < 0) {
    throw new BerthError('INVALID_ARGUMENT', `Expected a number of seconds from 0, like 10, for ${option} but received ${quote(value)}`);
  }
  return n;
}

/** SIGTERM for 15: the name docker shows (inspect's StopSignal), SIGRTMIN+N for real-time ones. */
export function signalName(n: number): string {
  table ??= signalTable();
  for (const [name, v] of table) if (v === n && name !== 'CLD' && !/^RTMAX-/.test(name)) return `SIG${name}`;
  return String(n);
}
