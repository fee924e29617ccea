/**
 * A command's flags as one declarative table. The parser's spec (argSpec), the type of the parsed
 * result (Parsed) and the --help text (help.ts) are all derived from it, so that none of the three
 * can name a flag the others do not (run --help once lacked --entrypoint and --pull).
 */
import type arg = require('arg');

interface FlagBase {
  /** The long spelling, as typed: '--memory-swap'. Its camelCase (memorySwap) is the parsed key. */
  readonly name: `--${string}`;
  /** One letter: 'm' for -m. Boolean short flags combine, as docker's: -it. */
  readonly short?: string;
  /** More long spellings of the same flag: docker's --net for --network. */
  readonly aliases?: readonly `--${string}`[];
  /** One line for --help, docker's wording where docker has the flag. */
  readonly help: string;
}

export interface BooleanFlag extends FlagBase {
  readonly kind: 'boolean';
  readonly value?: never;
}

export interface ValueFlag extends FlagBase {
  /** 'string': one value, the last given wins; 'strings': repeatable, every value kept in order.
   *  Numbers, sizes and durations are strings here: each is parsed where it is used, by a parser
   *  whose message names the flag and the expected form (arg's Number takes "abc" for NaN). */
  readonly kind: 'string' | 'strings';
  /** The placeholder --help shows for the value: SIZE, KEY=VALUE. */
  readonly value: string;
}

export type Flag = BooleanFlag | ValueFlag;
export type Flags = readonly Flag[];

type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** The key of a flag's value in the parsed result: '--no-trunc' -> 'noTrunc'. */
export type FlagKey<F extends Flag> = F['name'] extends `--${infer Bare}` ? CamelCase<Bare> : never;

/** A flag not given is false, or undefined: the API tells "not given" from "given empty" (--dns). */
type FlagValue<F extends Flag> = F['kind'] extends 'boolean'
  ? boolean
  : F['kind'] extends 'strings'
    ? string[] | undefined
    : string | undefined;

/** What parsing a command line against the table T gives: one typed value per flag, the
 *  operands in _, and help (every command takes --help). */
export type Parsed<T extends Flags> = { readonly [F in T[number] as FlagKey<F>]: FlagValue<F> } & {
  readonly _: string[];
  readonly help: boolean;
};

/** Every command's last flag. No -h: that is run's --hostname, as in docker. */
export const HELP_FLAG = { name: '--help', kind: 'boolean', help: 'Print usage' } as const satisfies Flag;

/** Every flag a command line takes, in the table's order: the table's own, then --help unless
 *  the table has its own (the global options: -h, --help). */
export function withHelp(flags: Flags): Flags {
  return flags.some((f) => f.name === HELP_FLAG.name) ? flags : [...flags, HELP_FLAG];
}

/** The runtime twin of FlagKey: the two must agree, and flags.test checks every table's keys. */
export function flagKey(name: string): string {
  return name
    .slice(2)
    .split('-')
    .map((word, i) => (i === 0 ? word : word.charAt(0).toUpperCase() + word.slice(1)))
    .join('');
}

/** Every spelling of a flag as typed: '--network', '--net'; '-p'. */
export function spellings(f: Flag): string[] {
  return [f.name, ...(f.aliases ?? []), ...(f.short ? [`-${f.short}`] : [])];
}

/** The spec arg parses with: each long name typed, each alias and short letter pointing at it. */
export function argSpec(flags: Flags): arg.Spec {
  const spec: arg.Spec = {};
  for (const f of flags) {
    spec[f.name] = f.kind === 'boolean' ? Boolean : f.kind === 'string' ? String : [String];
    for (const alias of spellings(f).slice(1)) spec[alias] = f.name;
  }
  return spec;
}

/** arg's result (keyed '--flag', values untyped) as the table's typed result. */
export function fromArgResult<T extends Flags>(flags: T, result: Readonly<Record<string, unknown>>, operands: string[]): Parsed<T> {
  const values: Record<string, unknown> = { _: operands, help: result[HELP_FLAG.name] === true };
  for (const f of flags) {
    const value = result[f.name];
    values[flagKey(f.name)] = f.kind === 'boolean' ? value === true : value;
  }
  // The one place arg's untyped result meets the table's types. By construction each key is
  // flagKey of a flag of T and each value what arg gives for the flag's kind (Boolean: true or
  // absent, String: a string, [String]: an array), which is what Parsed<T> says.
  return values as Parsed<T>;
}
