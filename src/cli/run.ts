import * as fs from 'node:fs';
import { BerthError } from '../errors';
import { Berth } from '../index';
import type { Command } from './command';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

const run: Command = {
  usage: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  summary: 'Create and run a new container from an image, in the foreground.',
  help: `  -i, --interactive            Keep STDIN open
  -t, --tty                    Allocate a pseudo-TTY
      --rm                     Remove the container when it exits
      --name NAME              Assign a name to the container
  -e, --env KEY=VALUE          Set an environment variable (repeatable; KEY alone copies it from here)
  -w, --workdir DIR            Working directory inside the container
  -h, --hostname NAME          Container host name
  -u, --user UID[:GID]         User (name or uid) and group (name or gid) to run as
  -v, --volume HOST:CTR[:ro]   Bind mount a host directory (repeatable)
  -m, --memory SIZE            Memory limit, like 64m or 1g
      --memory-swap SIZE       Memory plus swap limit; -1 for unlimited swap
      --cpus N                 Number of CPUs, like 0.5
      --cpu-shares N           Relative CPU weight (default 1024)
      --cpuset-cpus LIST       CPUs to run on, like 0-1 or 0,2
      --pids-limit N           Maximum number of processes; -1 for unlimited
      --storage-driver NAME    overlay or aufs`,
  stopAtPositional: true,
  spec: {
    '--interactive': Boolean, '-i': '--interactive',
    '--tty': Boolean, '-t': '--tty',
    '--rm': Boolean,
    '--name': String,
    '--env': [String], '-e': '--env',
    '--workdir': String, '-w': '--workdir',
    '--hostname': String, '-h': '--hostname',
    '--user': String, '-u': '--user',
    '--volume': [String], '-v': '--volume',
    '--memory': String, '-m': '--memory',
    '--memory-swap': String,
    '--cpus': String,
    '--cpu-shares': String,
    '--cpuset-cpus': String,
    '--pids-limit': String,
    '--storage-driver': String,
  },
  async run(args, global) {
    const [image, ...cmd] = args._;
    if (!image) throw new BerthError('INVALID_ARGUMENT', '"berth run" requires at least 1 argument; usage: berth run [OPTIONS] IMAGE [COMMAND] [ARG...]');
    const tty = !!args['--tty'];
    const interactive = !!args['--interactive'];
    if (tty && interactive && !process.stdin.isTTY) {
      throw new BerthError('INVALID_ARGUMENT', 'the input device is not a TTY; drop -t or run berth from a terminal');
    }
    const berth = new Berth(global);
    const proc = berth.spawn({
      image,
      cmd,
      name: args['--name'],
      env: args['--env'],
      workdir: args['--workdir'],
      hostname: args['--hostname'],
      user: args['--user'],
      volumes: args['--volume'],
      memory: args['--memory'],
      memorySwap: args['--memory-swap'],
      cpus: args['--cpus'],
      cpuShares: args['--cpu-shares'],
      cpusetCpus: args['--cpuset-cpus'],
      pidsLimit: args['--pids-limit'],
      storageDriver: args['--storage-driver'] ?? global.storageDriver,
      tty,
      interactive,
      rm: !!args['--rm'],
      // Without a tty the container writes straight to our own fds: no copying through Node.
      stdin: tty ? 'pipe' : interactive ? 0 : 'ignore',
      stdout: tty ? 'pipe' : 1,
      stderr: tty ? 'pipe' : 2,
      // Touching process.stdout builds a stream (a millisecond): only a tty run needs its size.
      ttySize: tty ? [process.stdout.rows || 24, process.stdout.columns || 80] : undefined,
    });

    const forward = (sig: NodeJS.Signals) => proc.kill(sig);
    // With a tty, ^C and friends travel as bytes through the pty; only signals sent to berth itself
    // are forwarded.
    const forwarded = tty ? FORWARDED.filter((s) => s !== 'SIGINT' && s !== 'SIGQUIT') : FORWARDED;
    for (const s of forwarded) process.on(s, forward);
    let restore = () => {};
    if (tty) {
      proc.stdout!.pipe(process.stdout, { end: false });
      if (interactive) {
        if (process.stdin.isTTY) {
          process.stdin.setRawMode(true);
          restore = () => process.stdin.setRawMode(false);
        }
        process.stdin.pipe(proc.stdin!);
      }
      process.stdout.on('resize', () => proc.resize(process.stdout.rows, process.stdout.columns));
    }
    const status = await proc.wait();
    restore();
    for (const s of forwarded) process.off(s, forward);
    if (status.oomKilled) {
      const limit = proc.name;
      process.stderr.write(`berth: container ${limit} was killed by the OOM killer: it needed more memory than its --memory limit\n`);
    }
    // stdin may still hold the loop open; everything we owed the caller has been written.
    if (interactive && tty) process.stdin.destroy();
    void fs;
    return status.exitCode;
  },
};

export default run;
