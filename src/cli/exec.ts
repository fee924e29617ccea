import { BerthError } from '../errors';
import { Berth } from '../index';
import { attachForeground, foregroundStdio } from './attach';
import type { Command } from './command';

const exec: Command = {
  usage: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  summary: 'Run a command in a running container: its namespaces, cgroup, user and environment.',
  help: `  -i, --interactive      Keep STDIN open
  -t, --tty              Allocate a pseudo-TTY
  -e, --env KEY=VALUE    Set an environment variable (repeatable)
  -w, --workdir DIR      Working directory inside the container
  -u, --user UID[:GID]   User (name or uid) and group to run as
  -d, --detach           Start the command and return; it keeps running in the container`,
  stopAtPositional: true,
  spec: {
    '--interactive': Boolean, '-i': '--interactive',
    '--tty': Boolean, '-t': '--tty',
    '--env': [String], '-e': '--env',
    '--workdir': String, '-w': '--workdir',
    '--user': String, '-u': '--user',
    '--detach': Boolean, '-d': '--detach',
  },
  async run(args, global) {
    const [container, ...cmd] = args._;
    if (!container || cmd.length === 0) {
      throw new BerthError('INVALID_ARGUMENT', '"berth exec" requires at least 2 arguments; usage: berth exec [OPTIONS] CONTAINER COMMAND [ARG...]');
    }
    const tty = !!args['--tty'];
    const interactive = !!args['--interactive'];
    if (tty && interactive && !process.stdin.isTTY) {
      throw new BerthError('INVALID_ARGUMENT', 'the input device is not a TTY; drop -t or run berth from a terminal');
    }
    const detach = !!args['--detach'];
    if (detach && (tty || interactive)) throw new BerthError('INVALID_ARGUMENT', 'Conflicting options: -d with -i or -t');
    const proc = new Berth(global).exec(container, {
      cmd,
      env: args['--env'],
      workdir: args['--workdir'],
      user: args['--user'],
      tty,
      interactive,
      // Detached, the command outlives this process: when we exit, the container's init adopts it.
      ...(detach ? { stdin: 'ignore' as const, stdout: 'ignore' as const, stderr: 'ignore' as const } : foregroundStdio(tty, interactive)),
    });
    if (detach) {
      process.exit(0);
    }
    return (await attachForeground(proc, tty, interactive)).exitCode;
  },
};

export default exec;
