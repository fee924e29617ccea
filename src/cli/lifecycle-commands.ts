import { BerthError, invalid } from '../errors';
import { Berth, type BerthOptions } from '../index';
import { parseSignal, parseStopTimeout } from '../util/signals';
import { command, errorLine, positionals, type Command } from './command';
import type { Flags } from './flags';
import { attachedRun, runAttached } from './run-attached';

/** Runs fn for each container named on the command line; docker prints each name that worked and
 *  one error line for each that did not, then exits 1 if any failed. Flags are checked before:
 *  a bad flag is a usage error (125) about the command, not a failure of each container. */
export async function forEach(
  cmd: Command,
  args: { readonly _: string[] },
  global: BerthOptions,
  fn: (berth: Berth, ref: string) => Promise<unknown> | unknown,
): Promise<number> {
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

// a string, parsed by parseStopTimeout: arg's Number would let "abc" through as NaN
const TIME_FLAGS = [
  {
    name: '--time',
    short: 't',
    aliases: ['--timeout'],
    kind: 'string',
    value: 'SECONDS',
    help: "Seconds to wait before killing the container (default the container's --stop-timeout, else 10)",
  },
] as const satisfies Flags;
const timeout = (time: string | undefined) => (time === undefined ? undefined : parseStopTimeout(time));

export const start = command({
  name: 'start',
  operands: 'CONTAINER [CONTAINER...]',
  summary: 'Start stopped containers again, detached, with their write layer.',
  flags: [
    { name: '--attach', short: 'a', kind: 'boolean', help: 'Attach STDOUT/STDERR and forward signals, and exit with its status' },
    { name: '--interactive', short: 'i', kind: 'boolean', help: "Attach container's STDIN" },
    {
      name: '--detach-keys',
      kind: 'string',
      value: 'KEYS',
      help: 'Override the key sequence for detaching a container (default "ctrl-p,ctrl-q")',
    },
  ],
  async run(args, global): Promise<number> {
    if (!args.attach && !args.interactive) return forEach(start, args, global, (b, ref) => b.start(ref));
    const [ref] = positionals(start, args, 1);
    const berth = new Berth(global);
    const { config } = berth.runtime.resolve(ref);
    if (args.interactive && config.interactive && config.tty && !process.stdin.isTTY)
      throw new BerthError('INVALID_ARGUMENT', 'the input device is not a TTY; drop -i or start it from a terminal');
    // attached from before its process starts: nothing of its output is missed (run-attached.ts)
    const o = attachedRun({ detachKeys: args.detachKeys, interactive: args.interactive && config.interactive, tty: config.tty });
    return runAttached(berth, o, (a) => berth.start(ref, a));
  },
});

export const stop = command({
  name: 'stop',
  operands: 'CONTAINER [CONTAINER...]',
  summary: 'Stop containers: their stop signal (--stop-signal, the image STOPSIGNAL, else SIGTERM), then SIGKILL after the timeout.',
  flags: TIME_FLAGS,
  run(args, global): Promise<number> {
    const t = timeout(args.time);
    return forEach(stop, args, global, (b, ref) => b.stop(ref, { timeout: t }));
  },
});

export const restart = command({
  name: 'restart',
  operands: 'CONTAINER [CONTAINER...]',
  summary: 'Stop and start containers again.',
  flags: TIME_FLAGS,
  run(args, global): Promise<number> {
    const t = timeout(args.time);
    return forEach(restart, args, global, (b, ref) => b.restart(ref, { timeout: t }));
  },
});

export const kill = command({
  name: 'kill',
  operands: 'CONTAINER [CONTAINER...]',
  summary: "Send a signal to containers' init processes.",
  flags: [{ name: '--signal', short: 's', kind: 'string', value: 'SIGNAL', help: 'Signal to send to the container (default SIGKILL)' }],
  run(args, global): Promise<number> {
    const signal = parseSignal(args.signal ?? 'SIGKILL');
    return forEach(kill, args, global, (b, ref) => b.kill(ref, signal));
  },
});

export const wait = command({
  name: 'wait',
  operands: 'CONTAINER [CONTAINER...]',
  summary: 'Block until containers stop, then print their exit codes.',
  flags: [],
  async run(args, global): Promise<number> {
    const berth = new Berth(global);
    for (const ref of positionals(wait, args, 1, Infinity)) process.stdout.write(`${(await berth.wait(ref)).exitCode ?? 255}\n`);
    return 0;
  },
});

export const logs = command({
  name: 'logs',
  operands: 'CONTAINER',
  summary: "Print a container's output from its json-file log: stdout to stdout, stderr to stderr.",
  flags: [
    { name: '--follow', short: 'f', kind: 'boolean', help: 'Follow log output until the container stops' },
    { name: '--tail', kind: 'string', value: 'N', help: 'Number of lines to show from the end of the logs (default "all")' },
    { name: '--timestamps', short: 't', kind: 'boolean', help: 'Show timestamps' },
    {
      name: '--since',
      kind: 'string',
      value: 'TIME',
      help: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    },
  ],
  async run(args, global): Promise<number> {
    const [ref] = positionals(logs, args, 1);
    // "" and "1e3" are numbers to Number(); a count of lines is digits
    const tail = args.tail === undefined || args.tail === 'all' ? undefined : /^\d+$/.test(args.tail) ? Number(args.tail) : NaN;
    if (tail !== undefined && !Number.isSafeInteger(tail)) throw invalid('--tail', 'a number of lines or "all"', args.tail);
    const since = args.since === undefined ? undefined : parseSince(args.since);
    for await (const e of new Berth(global).logs(ref, { follow: args.follow, tail, since })) {
      (e.stream === 'stderr' ? process.stderr : process.stdout).write(args.timestamps ? `${e.time} ${e.log}` : e.log);
    }
    return 0;
  },
});

function parseSince(value: string): Date {
  const rel = /^(\d+)(s|m|h)$/.exec(value);
  // a relative time too far back is an Invalid Date as well (toISOString would throw a RangeError)
  const d = rel ? new Date(Date.now() - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[rel[2] as 's' | 'm' | 'h']) : new Date(value);
  if (Number.isNaN(d.getTime())) {
    throw invalid('--since', 'a time like 2026-01-02T15:04:05Z or a duration like 10m', value);
  }
  return d;
}
