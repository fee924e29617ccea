import arg = require('arg');
import { BerthError, causeChain, invalid } from '../errors';
import { oneLine } from '../util/quote';
import type { BerthOptions } from '../index';
import { argSpec, fromArgResult, withHelp, type Flags, type Parsed } from './flags';
import { commandHelp } from './help';
import { writeStdout } from './write';

/** One CLI command, as the command table of main.ts and of the groups (image, network) hold it.
 *  Each lives in its own file, loaded only when invoked, so `berth run` pays for nothing but itself. */
export interface CommandSpec<T extends Flags> {
  /** As typed after `berth`: 'run', 'network create'. */
  readonly name: string;
  /** What follows the options in the usage line: 'IMAGE [COMMAND] [ARG...]'. */
  readonly operands?: string;
  readonly summary: string;
  /** Shown after the options by --help. */
  readonly notes?: string;
  readonly flags: T;
  /** Options end at the first operand (the image of `run`: what follows is the container's command
   *  with its own flags). */
  readonly stopAtPositional?: boolean;
  /** A group's commands by name (aliases are more names of the same command), listed by --help. */
  readonly subcommands?: Subcommands;
  /** Returns the exit status. A command that refers to itself (positionals(cmd, ...)) must spell
   *  its return type out: TypeScript cannot infer a type from an initializer that uses it. */
  run(args: Parsed<T>, global: BerthOptions): Promise<number> | number;
}

/** Loads a command's module on first use: import() is typed where require() is not. */
export type LoadCommand = () => Promise<Command>;
export type Subcommands = Readonly<Record<string, LoadCommand>>;

export interface Command<T extends Flags = Flags> extends CommandSpec<T> {
  /** 'run [OPTIONS] IMAGE [COMMAND] [ARG...]': [OPTIONS] exactly when the command has flags. */
  readonly usage: string;
}

/** A command whose run() gets its flags typed from its table: `const T` keeps each flag's literal
 *  name and kind, so args.detach is a boolean and args.env a string[] without any annotation. */
export function command<const T extends Flags>(spec: CommandSpec<T>): Command<T> {
  const usage = [spec.name, spec.flags.length > 0 ? '[OPTIONS]' : '', spec.operands ?? ''].filter((part) => part !== '').join(' ');
  return { ...spec, usage };
}

/** A command line against a flag table (and --help). An unknown flag or a missing value is one
 *  line naming it: a BerthError INVALID_ARGUMENT, exit status 125. */
export function parseFlags<T extends Flags>(flags: T, argv: string[], stopAtPositional: boolean, helpHint: string): Parsed<T> {
  const spec = argSpec(withHelp(flags));
  let result: arg.Result<arg.Spec>;
  try {
    result = arg(spec, { argv: normalizeArgv(spec, argv, stopAtPositional), stopAtPositional });
  } catch (e) {
    if (e instanceof BerthError) throw e;
    const msg = (e as Error).message.replace(/^unknown or unexpected option/, 'unknown flag');
    throw new BerthError('INVALID_ARGUMENT', `${msg}; see '${helpHint}'`);
  }
  return fromArgResult(flags, result, result._);
}

/** A command's arguments (everything after its name) against its flags and --help. */
export function parse<T extends Flags>(cmd: Command<T>, argv: string[]): Parsed<T> {
  return parseFlags(cmd.flags, argv, cmd.stopAtPositional ?? false, `berth ${cmd.name} --help`);
}

/** Parses, then prints the help or runs: what `berth NAME ...` and `berth GROUP NAME ...` do. */
export async function runCommand(cmd: Command, argv: string[], global: BerthOptions): Promise<number> {
  const args = parse(cmd, argv);
  if (args.help) {
    writeStdout(await commandHelp(cmd));
    return 0;
  }
  return cmd.run(args, global);
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
      // a String flag's value is the next element, whatever it looks like; arg would take one
      // that starts with "-" for a flag (docker's `--memory-swap -1`), so it goes after an "="
      if (flag === a && type !== undefined && type !== Boolean && i + 1 < argv.length) {
        const value = argv[++i];
        if (value.startsWith('-') && !/[\n\r\u2028\u2029]/.test(value)) out.push(`${longName(spec, a)}=${value}`);
        else out.push(a, value);
      } else {
        out.push(a);
      }
    }
  }
  return out;
}

/** The long name an alias or short letter stands for: '-c' -> '--cpu-shares'. */
function longName(spec: arg.Spec, flag: string): string {
  let name = flag;
  for (let i = 0; typeof spec[name] === 'string' && i < 8; i++) name = spec[name] as string;
  return name;
}

/** The one stderr line of a failure of one of several operands (rm a b c): its causes joined,
 *  control characters escaped so that no value in a message can break it across lines. */
export function errorLine(e: unknown): string {
  return `berth: ${oneLine(causeChain(e).join(': '))}\n`;
}

/** From min to max operands, or a usage error naming the command's usage. */
export function positionals(cmd: Command, args: { readonly _: string[] }, min: number, max = min): string[] {
  const p = args._;
  if (p.length < min || p.length > max) {
    const want = min === max ? `exactly ${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new BerthError(
      'INVALID_ARGUMENT',
      `"berth ${cmd.name}" requires ${want} argument${max === 1 ? '' : 's'}; usage: berth ${cmd.usage}`,
    );
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
