import arg = require('arg');
import { BerthError, causeChain, invalid } from '../errors';
import { oneLine } from '../util/quote';
import type { BerthOptions } from '../index';

/** Parsed options: '--flag' keys as arg gives them, positionals in _. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Args = { _: string[]; [flag: string]: any };

/** One CLI command. Each lives in its own file, loaded only when invoked, so `berth run` pays for
 *  nothing but itself. */
export interface Command {
  usage: string;
  summary: string;
  /** Option help lines, shown by --help. */
  help: string;
  spec: arg.Spec;
  /** Options end at the first positional (the image of `run`: what follows is the command). */
  stopAtPositional?: boolean;
  run(args: Args, global: BerthOptions): Promise<number | void> | number | void;
}

export function parse(cmd: Command, argv: string[]): Args {
  const spec = { ...cmd.spec, '--help': Boolean };
  try {
    return arg(spec, { argv: normalizeArgv(spec, argv, cmd.stopAtPositional ?? false), stopAtPositional: cmd.stopAtPositional ?? false }) as Args;
  } catch (e) {
    if (e instanceof BerthError) throw e;
    const msg = (e as Error).message.replace(/^unknown or unexpected option/, 'unknown flag');
    throw new BerthError('INVALID_ARGUMENT', `${msg}; see 'berth ${cmd.usage.split(' ')[0]} --help'`);
  }
}

const TRUE = ['1', 't', 'T', 'true', 'TRUE', 'True'];
const FALSE = ['0', 'f', 'F', 'false', 'FALSE', 'False'];

/**
 * Two quirks of arg's `--flag=value`, fixed before it parses: it splits with /=(.*)/, whose `.`
 * stops at a line break (`--memory=1\nm` became "1", silently), and a Boolean flag ignores its
 * value (`--rm=false` meant --rm). Values with a line break are passed as `--flag VALUE`; a
 * Boolean's value is read as docker's (Go's) booleans, anything else refused. Only flags are
 * touched: what follows the positional of a stopAtPositional command (run's COMMAND) is not.
 */
export function normalizeArgv(spec: arg.Spec, argv: string[], stopAtPositional: boolean): string[] {
  const typeOf = (flag: string) => {
    let t = spec[flag];
    for (let i = 0; typeof t === 'string' && i < 8; i++) t = spec[t];
    return t;
  };
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--' || !a.startsWith('-') || a.length < 2) {
      if (a === '--' || stopAtPositional) return out.concat(argv.slice(i));
      out.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const type = typeOf(flag);
    if (flag !== a && type === Boolean) {
      const value = a.slice(eq + 1);
      if (TRUE.includes(value)) out.push(flag);
      else if (!FALSE.includes(value)) throw invalid(flag, 'true or false', value);
    } else if (flag !== a && /[\n\r\u2028\u2029]/.test(a)) {
      out.push(flag, a.slice(eq + 1));
    } else {
      out.push(a);
      // a String flag's value is the next element, whatever it looks like
      if (flag === a && type !== undefined && type !== Boolean && i + 1 < argv.length) out.push(argv[++i]);
    }
  }
  return out;
}

/** The one stderr line of a failure of one of several operands (rm a b c): its causes joined,
 *  control characters escaped so that no value in a message can break it across lines. */
export function errorLine(e: unknown): string {
  return `berth: ${oneLine(causeChain(e).join(': '))}\n`;
}

/** Exactly n positionals, or a usage error. */
export function positionals(cmd: Command, args: Args, min: number, max = min): string[] {
  const p = args._;
  if (p.length < min || p.length > max) {
    const want = min === max ? `exactly ${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new BerthError('INVALID_ARGUMENT', `"berth ${cmd.usage.split(' ')[0]}" requires ${want} argument${max === 1 ? '' : 's'}; usage: berth ${cmd.usage}`);
  }
  return p;
}

/** A fixed-width table, docker style: columns separated by three spaces. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('   ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** "3 seconds", "2 minutes", "5 hours": docker's human durations. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 1) return 'Less than a second';
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? 'About a minute' : `${m} minutes`;
  const h = Math.round(m / 60);
  if (h < 48) return h === 1 ? 'About an hour' : `${h} hours`;
  return `${Math.round(h / 24)} days`;
}

export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${units[u]}`;
}
