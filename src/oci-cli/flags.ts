/**
 * Flags as runc's command line (urfave/cli v1 over Go's `flag` package) reads them: `-name` and
 * `--name` alike, `--name=value` or `--name value`, a Boolean as `--name` or `--name=false`, one
 * dash or two for short names too, `--` ending the flags. Callers (containerd's go-runc, conmon,
 * podman) write every one of these spellings, so arg's getopt rules would refuse some of them.
 * Commands other than exec and ps also take flags after their operands (urfave's argument
 * reordering): `runc kill ID KILL --all` is `runc kill --all ID KILL`.
 */
import { OciCliError } from './errors';

export type FlagKind = 'string' | 'bool' | 'strings' | 'uint' | 'int';

export interface FlagDef {
  /** The long name, without dashes: 'pid-file'. */
  readonly name: string;
  /** The one-letter alias runc gives it: 'b' for --bundle. */
  readonly short?: string;
  readonly kind: FlagKind;
  readonly usage: string;
  /** The value when the flag is absent (strings and numbers), shown by --help as runc shows it. */
  readonly default?: string;
  /** Accepted and listed nowhere: another spelling callers use (--cpu-shares beside --cpu-share). */
  readonly hidden?: boolean;
}

export type Flags = readonly FlagDef[];

type ValueOf<K extends FlagKind> = K extends 'bool' ? boolean : K extends 'strings' ? string[] : K extends 'uint' | 'int' ? number : string;

/** A parsed command line: every flag under its long name, typed by its kind; `_` the operands;
 *  `set` the long names given explicitly (runc's context.IsSet). A string flag with no default
 *  that is absent is ''. */
export type Parsed<T extends Flags> = { readonly [F in T[number] as F['name']]: ValueOf<F['kind']> } & {
  readonly _: string[];
  readonly set: ReadonlySet<string>;
};

const HELP: FlagDef = { name: 'help', short: 'h', kind: 'bool', usage: 'show help' };

/** Parses argv against a flag table (and --help/-h). With `reorder`, flags may follow operands;
 *  without it (exec, ps, the global flags) the first operand ends the flags. */
export function parseFlags<const T extends Flags>(
  flags: T,
  argv: readonly string[],
  reorder: boolean,
): Parsed<T> & { readonly help: boolean } {
  const table = [...flags, HELP];
  const byName = new Map<string, FlagDef>();
  for (const f of table) {
    byName.set(f.name, f);
    if (f.short) byName.set(f.short, f);
  }
  const values = new Map<string, string | boolean | number | string[]>();
  for (const f of table) values.set(f.name, initial(f));
  const set = new Set<string>();
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-' || !a.startsWith('-')) {
      if (!reorder) {
        operands.push(...argv.slice(i));
        break;
      }
      operands.push(a);
      continue;
    }
    const body = a.startsWith('--') ? a.slice(2) : a.slice(1);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const def = byName.get(name);
    if (!def || name === '' || name.startsWith('-')) throw new OciCliError(`flag provided but not defined: -${name}`);
    let raw: string;
    if (def.kind === 'bool') {
      raw = eq >= 0 ? body.slice(eq + 1) : 'true';
    } else if (eq >= 0) {
      raw = body.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) throw new OciCliError(`flag needs an argument: -${name}`);
      raw = argv[++i];
    }
    values.set(def.name, convert(def, name, raw, values.get(def.name)));
    set.add(def.name);
  }
  const out: Record<string, unknown> = Object.fromEntries(values);
  out._ = operands;
  out.set = set;
  return out as Parsed<T> & { readonly help: boolean };
}

function initial(f: FlagDef): string | boolean | number | string[] {
  switch (f.kind) {
    case 'bool':
      return false;
    case 'strings':
      return [];
    case 'uint':
    case 'int':
      return Number(f.default ?? '0');
    default:
      return f.default ?? '';
  }
}

/** Go's strconv.ParseBool spellings. */
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

function convert(def: FlagDef, spelled: string, raw: string, previous: unknown): string | boolean | number | string[] {
  const bad = () => new OciCliError(`invalid value ${JSON.stringify(raw)} for flag -${spelled}: parse error`);
  switch (def.kind) {
    case 'bool':
      if (TRUE.has(raw)) return true;
      if (FALSE.has(raw)) return false;
      throw bad();
    case 'strings':
      // urfave's StringSliceFlag: each occurrence appends one value (no comma splitting in v1).
      return [...(previous as string[]), raw];
    case 'uint':
    case 'int': {
      const re = def.kind === 'uint' ? /^\d+$/ : /^-?\d+$/;
      const n = Number(raw);
      if (!re.test(raw) || !Number.isSafeInteger(n)) throw bad();
      return n;
    }
    default:
      return raw;
  }
}

/** runc's checkArgs: "berth-oci: \"kill\" requires a minimum of 1 argument(s)". */
export function checkArgs(command: string, operands: readonly string[], min: number, max: number): void {
  const q = JSON.stringify(command);
  if (min === max && operands.length !== min) throw new OciCliError(`${q} requires exactly ${min} argument(s)`);
  if (operands.length < min) throw new OciCliError(`${q} requires a minimum of ${min} argument(s)`);
  if (operands.length > max) throw new OciCliError(`${q} requires a maximum of ${max} argument(s)`);
}

/** The OPTIONS section of --help, laid out as urfave prints it. */
export function flagHelp(flags: Flags): string {
  const rows = [...flags.filter((f) => !f.hidden), HELP].map((f) => {
    const value = f.kind === 'bool' ? '' : ' value';
    const names = `--${f.name}${value}${f.short ? `, -${f.short}${value}` : ''}`;
    const dflt =
      f.default !== undefined && f.kind !== 'bool' ? ` (default: ${f.kind === 'string' ? JSON.stringify(f.default) : f.default})` : '';
    return [names, `${f.usage}${dflt}`];
  });
  const width = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([n, u]) => `   ${n.padEnd(width)}  ${u}`).join('\n') + '\n';
}
