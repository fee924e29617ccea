#!/usr/bin/env node
/** berth's command line: docker's verbs and flags. Exit status: 125 for berth's own errors, 126 when
 *  the command cannot be invoked, 127 when it is not found, else the container's. */
import { BerthError, causeChain } from '../errors';
import { oneLine } from '../util/quote';
import type { BerthOptions } from '../index';
import { parseFlags, runCommand } from './command';
import { COMMANDS, GLOBAL_FLAGS, globalHelp } from './commands';
import { writeStderr, writeStdout } from './write';

async function main(argv: string[]): Promise<number> {
  const global = parseFlags(GLOBAL_FLAGS, argv, true, 'berth --help');
  if (global.version) {
    const { version } = require('../../package.json') as { version: string };
    writeStdout(`berth version ${version}\n`);
    return 0;
  }
  const [name, ...rest] = global._;
  if (!name || global.help || name === 'help') {
    writeStdout(globalHelp());
    return name || global.help || name === 'help' ? 0 : 1;
  }
  if (!Object.hasOwn(COMMANDS, name))
    throw new BerthError('INVALID_ARGUMENT', `'${oneLine(name)}' is not a berth command; see 'berth --help'`);
  const cmd = await COMMANDS[name][1]();
  const options: BerthOptions = {
    root: global.root,
    runRoot: global.runroot,
    storageDriver: global.storageDriver,
    cgroupParent: global.cgroupParent,
    // The CLI exits right after the container: deleting an --rm write layer is left to a background rm.
    detachedCleanup: true,
  };
  return runCommand(cmd, rest, options);
}

main(process.argv.slice(2)).then(
  (code) => {
    // Everything is written (stdout and stderr are synchronous on Linux, pipes included) and
    // nothing is left to wait for: exiting now saves the loop's winding down (~1-2 ms).
    process.exit(code);
  },
  (e: unknown) => {
    const lines = causeChain(e);
    // One line per cause; a system error's message already names the call and the path. Control
    // characters of a value no message quoted are escaped: a cause is never split, nor forged.
    writeStderr(lines.map((l, i) => (i === 0 ? `berth: ${oneLine(l)}` : `  caused by: ${oneLine(l)}`)).join('\n') + '\n');
    if (process.env.BERTH_DEBUG && e instanceof Error) writeStderr(`${e.stack}\n`);
    process.exitCode = e instanceof BerthError ? e.exitStatus : 125;
  },
);
