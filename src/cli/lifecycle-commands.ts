import { invalid } from '../errors';
import { Berth, type BerthOptions } from '../index';
import { parseSignal, parseStopTimeout } from '../util/signals';
import { errorLine, positionals, type Args, type Command } from './command';

/** Runs fn for each container named on the command line; docker prints each name that worked and
 *  one error line for each that did not, then exits 1 if any failed. Flags are checked before:
 *  a bad flag is a usage error (125) about the command, not a failure of each container. */
export async function forEach(cmd: Command, args: Args, global: BerthOptions, fn: (berth: Berth, ref: string) => Promise<unknown> | unknown): Promise<number> {
  const berth = new Berth(global);
  let failed = 0;
  for (const ref of positionals(cmd, args, 1, Infinity)) {
    try {
      await fn(berth, ref);
      process.stdout.write(`${ref}\n`);
    } catch (e) {
      failed++;
      process.stderr.write(errorLine(e));
    }
  }
  return failed ? 1 : 0;
}

// a String, parsed by parseStopTimeout: arg's Number would let "abc" through as NaN
const timeoutSpec = { '--time': String, '-t': '--time', '--timeout': '--time' };
const timeout = (args: Args) => (args['--time'] === undefined ? undefined : parseStopTimeout(args['--time']));

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
  run(args, global) {
    const t = timeout(args);
    return forEach(stop, args, global, (b, ref) => b.stop(ref, { timeout: t }));
  },
};

export const restart: Command = {
  usage: 'restart [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Stop and start containers again.',
  help: '  -t, --time SECONDS   Seconds to wait before killing (default 10)',
  spec: timeoutSpec,
  run(args, global) {
    const t = timeout(args);
    return forEach(restart, args, global, (b, ref) => b.restart(ref, { timeout: t }));
  },
};

export const kill: Command = {
  usage: 'kill [OPTIONS] CONTAINER [CONTAINER...]',
  summary: "Send a signal to containers' init processes.",
  help: '  -s, --signal SIGNAL   Signal to send (default SIGKILL)',
  spec: { '--signal': String, '-s': '--signal' },
  run(args, global) {
    const signal = parseSignal(args['--signal'] ?? 'SIGKILL');
    return forEach(kill, args, global, (b, ref) => b.kill(ref, signal));
  },
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
    // "" and "1e3" are numbers to Number(); a count of lines is digits
    const tail = args['--tail'] === undefined || args['--tail'] === 'all' ? undefined : /^\d+$/.test(args['--tail']) ? Number(args['--tail']) : NaN;
    if (tail !== undefined && !Number.isSafeInteger(tail)) throw invalid('--tail', 'a number of lines or "all"', args['--tail']);
    const since = args['--since'] === undefined ? undefined : parseSince(args['--since']);
    for await (const e of new Berth(global).logs(ref, { follow: !!args['--follow'], tail, since })) {
      (e.stream === 'stderr' ? process.stderr : process.stdout).write(args['--timestamps'] ? `${e.time} ${e.log}` : e.log);
    }
    return 0;
  },
};

function parseSince(value: string): Date {
  const rel = /^(\d+)(s|m|h)$/.exec(value);
  // a relative time too far back is an Invalid Date as well (toISOString would throw a RangeError)
  const d = rel ? new Date(Date.now() - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[rel[2] as 's' | 'm' | 'h']) : new Date(value);
  if (Number.isNaN(d.getTime())) {
    throw invalid('--since', 'a time like 2026-01-02T15:04:05Z or a duration like 10m', value);
  }
  return d;
}
