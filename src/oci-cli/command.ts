/** One berth-oci command: its flags, operands and action, and what every command shares (the
 *  global flags' root and log, the runtime, stdout). */
import * as path from 'node:path';
import type { OciRuntimeApi } from '../oci/runtime-api';
import { checkArgs, flagHelp, parseFlags, type Flags, type Parsed } from './flags';
import type { Logger } from './log';

export interface Io {
  stdout(s: string): void;
  stderr(s: string): void;
  /** All of stdin (update --resources -). */
  stdin(): string;
}

export interface Context {
  /** --root, absolute. */
  readonly root: string;
  readonly log: Logger;
  readonly io: Io;
  /** The runtime over --root, constructed on first use: spec, features and help need none. */
  runtime(): OciRuntimeApi;
}

export interface CommandSpec<T extends Flags> {
  readonly name: string;
  readonly summary: string;
  /** runc's ArgsUsage: what follows `[command options]` in the usage line. */
  readonly args: string;
  readonly description?: string;
  readonly flags: T;
  readonly minArgs: number;
  readonly maxArgs: number;
  /** false for exec and ps: what follows the container id is the process's (or ps's) own. */
  readonly reorder?: boolean;
  run(args: Parsed<T>, ctx: Context): Promise<number> | number;
}

/** A command as main.ts's table holds it: its flag types erased behind execute(). */
export interface Command {
  readonly name: string;
  readonly summary: string;
  help(): string;
  execute(argv: readonly string[], ctx: Context): Promise<number>;
}

export function command<const T extends Flags>(spec: CommandSpec<T>): Command {
  const help = () => commandHelp(spec);
  return {
    name: spec.name,
    summary: spec.summary,
    help,
    async execute(argv, ctx) {
      const args = parseFlags(spec.flags, argv, spec.reorder ?? true);
      if (args.help) {
        ctx.io.stdout(help());
        return 0;
      }
      checkArgs(spec.name, args._, spec.minArgs, spec.maxArgs);
      return spec.run(args, ctx);
    },
  };
}

function commandHelp<T extends Flags>(spec: CommandSpec<T>): string {
  const usage = `berth-oci ${spec.name}${spec.flags.length > 0 ? ' [command options]' : ''}${spec.args ? ` ${spec.args}` : ''}`;
  let text = `NAME:\n   berth-oci ${spec.name} - ${spec.summary}\n\nUSAGE:\n   ${usage}\n`;
  if (spec.description) text += `\nDESCRIPTION:\n   ${spec.description}\n`;
  if (spec.flags.length > 0) text += `\nOPTIONS:\n${flagHelp(spec.flags)}`;
  return text;
}

/** A path as runc makes it before it changes directory: absolute against the caller's cwd. */
export function absolute(p: string): string {
  return p === '' ? p : path.resolve(p);
}
