import { BerthError } from '../errors';
import { Berth } from '../index';
import { attachForeground, foregroundStdio } from './attach';
import { command } from './command';

const exec = command({
  name: 'exec',
  operands: 'CONTAINER COMMAND [ARG...]',
  summary: 'Run a command in a running container: its namespaces, cgroup, user and environment.',
  stopAtPositional: true,
  flags: [
    { name: '--interactive', short: 'i', kind: 'boolean', help: 'Keep STDIN open even if not attached' },
    { name: '--tty', short: 't', kind: 'boolean', help: 'Allocate a pseudo-TTY' },
    { name: '--env', short: 'e', kind: 'strings', value: 'KEY=VALUE', help: 'Set an environment variable' },
    { name: '--workdir', short: 'w', kind: 'string', value: 'DIR', help: 'Working directory inside the container' },
    { name: '--user', short: 'u', kind: 'string', value: 'UID[:GID]', help: 'Username or UID (format: <name|uid>[:<group|gid>])' },
    {
      name: '--detach',
      short: 'd',
      kind: 'boolean',
      help: 'Detached mode: run command in the background; it keeps running in the container',
    },
  ],
  async run(args, global): Promise<number> {
    const [container, ...cmd] = args._;
    if (!container || cmd.length === 0) {
      throw new BerthError('INVALID_ARGUMENT', `"berth exec" requires at least 2 arguments; usage: berth ${exec.usage}`);
    }
    const { tty, interactive, detach } = args;
    if (tty && interactive && !process.stdin.isTTY) {
      throw new BerthError('INVALID_ARGUMENT', 'the input device is not a TTY; drop -t or run berth from a terminal');
    }
    if (detach && (tty || interactive)) throw new BerthError('INVALID_ARGUMENT', 'Conflicting options: -d with -i or -t');
    const proc = new Berth(global).exec(container, {
      cmd,
      env: args.env,
      workdir: args.workdir,
      user: args.user,
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
});

export default exec;
