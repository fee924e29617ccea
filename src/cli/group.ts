import { BerthError } from '../errors';
import { oneLine } from '../util/quote';
import { command, runCommand, type Command, type Subcommands } from './command';

/**
 * `berth NAME COMMAND ...` (image, network, container): the group's only flag is --help; the rest
 * of the line is the subcommand's, parsed against its own table. Subcommands load on first use.
 */
export function commandGroup(name: string, summary: string, subcommands: Subcommands): Command<readonly []> {
  return command({
    name,
    operands: 'COMMAND',
    summary,
    flags: [],
    stopAtPositional: true,
    subcommands,
    async run(args, global) {
      const [sub, ...rest] = args._;
      // own properties only: "constructor" or "toString" is no subcommand
      if (sub === undefined || !Object.hasOwn(subcommands, sub)) {
        // as main.ts words an unknown command: the help lists them all
        const what = sub === undefined ? `"berth ${name}" requires a subcommand` : `'${oneLine(sub)}' is not a berth ${name} command`;
        throw new BerthError('INVALID_ARGUMENT', `${what}; see 'berth ${name} --help'`);
      }
      return runCommand(await subcommands[sub](), rest, global);
    },
  });
}
