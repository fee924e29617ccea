import { causeChain } from '../errors';
import { Berth, type BerthOptions } from '../index';
import { positionals, type Args, type Command } from './command';

/** Runs fn for each container named on the command line; docker prints each name that worked and
 *  one error line for each that did not, then exits 1 if any failed. */
export async function forEach(cmd: Command, args: Args, global: BerthOptions, fn: (berth: Berth, ref: string) => Promise<unknown> | unknown): Promise<number> {
  const berth = new Berth(global);
  let failed = 0;
  for (const ref of positionals(cmd, args, 1, Infinity)) {
    try {
      await fn(berth, ref);
      process.stdout.write(`${ref}\n`);
    } catch (e) {
      failed++;
      process.stderr.write(`berth: ${causeChain(e).join(': ')}\n`);
    }
  }
  return failed ? 1 : 0;
}

const timeoutSpec = { '--time': Number, '-t': '--time', '--timeout': '--time' };

export const start: Command = {
  usage: 'start [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Start stopped containers again, detached, with their write layer.',
  help: '  -a, --attach   Follow the output until the container stops, and exit with its status',
  spec: { '--attach': Boolean, '-a': '--attach' },
  async run(args, global) {
    if (!args['--attach']) return forEach(start, args, global, (b, ref) => b.start(ref));
    const [ref] = positionals(start, args, 1);
    const berth = new Berth(global);
    await berth.start(ref);
    for await (const e of berth.logs(ref, { follow: true, tail: 0 })) (e.stream === 'stderr' ? process.stderr : process.stdout).write(e.log);
    return (await berth.wait(ref)).exitCode ?? 0;
  },
};

export const stop: Command = {
  usage: 'stop [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Stop containers: SIGTERM, then SIGKILL after the timeout.',
  help: '  -t, --time SECONDS   Seconds to wait before killing (default 10)',
  spec: timeoutSpec,
  run: (args, global) => forEach(stop, args, global, (b, ref) => b.stop(ref, { timeout: args['--time'] })),
};

export const restart: Command = {
  usage: 'restart [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Stop and start containers again.',
  help: '  -t, --time SECONDS   Seconds to wait before killing (default 10)',
  spec: timeoutSpec,
  run: (args, global) => forEach(restart, args, global, (b, ref) => b.restart(ref, { timeout: args['--time'] })),
};

export const kill: Command = {
  usage: 'kill [OPTIONS] CONTAINER [CONTAINER...]',
  summary: "Send a signal to containers' init processes.",
  help: '  -s, --signal SIGNAL   Signal to send (default SIGKILL)',
  spec: { '--signal': String, '-s': '--signal' },
  run: (args, global) => forEach(kill, args, global, (b, ref) => b.kill(ref, args['--signal'] ?? 'SIGKILL')),
};

export const wait: Command = {
  usage: 'wait CONTAINER [CONTAINER...]',
  summary: 'Block until containers stop, then print their exit codes.',
  help: '',
  spec: {},
  async run(args, global) {
    const berth = new Berth(global);
    for (const ref of positionals(wait, args, 1, Infinity)) process.stdout.write(`${(await berth.wait(ref)).exitCode ?? 255}\n`);
    return 0;
  },
};

export const logs: Command = {
  usage: 'logs [OPTIONS] CONTAINER',
  summary: "Print a detached container's output: stdout to stdout, stderr to stderr.",
  help: `  -f, --follow       Follow new output until the container stops
      --tail N       Only the last N lines
  -t, --timestamps   Prefix each line with its time
      --since TIME   Only lines since TIME (RFC 3339, or a duration like 10m)`,
  spec: { '--follow': Boolean, '-f': '--follow', '--tail': String, '--timestamps': Boolean, '-t': '--timestamps', '--since': String },
  async run(args, global) {
    const [ref] = positionals(logs, args, 1);
    const tail = args['--tail'] === undefined || args['--tail'] === 'all' ? undefined : Number(args['--tail']);
    if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) {
      const { invalid } = await import('../errors');
      throw invalid('--tail', 'a number of lines or "all"', args['--tail']);
    }
    const since = args['--since'] === undefined ? undefined : parseSince(args['--since']);
    for await (const e of new Berth(global).logs(ref, { follow: !!args['--follow'], tail, since })) {
      (e.stream === 'stderr' ? process.stderr : process.stdout).write(args['--timestamps'] ? `${e.time} ${e.log}` : e.log);
    }
    return 0;
  },
};

function parseSince(value: string): Date {
  const rel = /^(\d+)(s|m|h)$/.exec(value);
  if (rel) return new Date(Date.now() - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[rel[2] as 's' | 'm' | 'h']);
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) {
    const { invalid } = require('../errors') as typeof import('../errors');
    throw invalid('--since', 'a time like 2026-01-02T15:04:05Z or a duration like 10m', value);
  }
  return d;
}
