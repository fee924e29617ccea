import { BerthError } from '../errors';
import { Berth } from '../index';
import type { ContainerInfo } from '../runtime/types';
import { quote } from '../util/quote';
import { command, humanDuration, table } from './command';
import { writeStdout } from './write';
import { isRunning, hasExited } from '../runtime/container-predicates';
import { healthSuffix } from '../runtime/health/monitor';

export function statusText(c: ContainerInfo, now = Date.now()): string {
  const s = c.state;
  if (isRunning(s)) return `Up ${humanDuration(now - Date.parse(s.startedAt!))}${healthSuffix(s.health)}`;
  if (hasExited(s)) return `Exited (${s.exitCode ?? 255}) ${humanDuration(now - Date.parse(s.finishedAt ?? c.config.created))} ago`;
  return 'Created';
}

const ps = command({
  name: 'ps',
  summary: 'List containers (running ones unless -a).',
  flags: [
    { name: '--all', short: 'a', kind: 'boolean', help: 'Show all containers (default shows just running)' },
    { name: '--quiet', short: 'q', kind: 'boolean', help: 'Only display container IDs' },
    { name: '--no-trunc', kind: 'boolean', help: "Don't truncate output" },
    {
      name: '--filter',
      short: 'f',
      kind: 'strings',
      value: 'KEY=VAL',
      help: 'Filter output (repeatable; one key ORed, keys ANDed): status=, exited=CODE, name=, id=PREFIX, label=KEY[=VALUE], ancestor=IMAGE, volume=, network=, health=starting|healthy|unhealthy|none, before=/since=CONTAINER',
    },
    { name: '--format', kind: 'string', value: 'json', help: 'Format output: json, one object per line' },
  ],
  run(args, global) {
    const list = new Berth(global).ps({ all: args.all, filters: args.filter ?? [] });
    if (args.format !== undefined && args.format !== 'json') {
      throw new BerthError('INVALID_ARGUMENT', `Expected json for --format but received ${quote(args.format)}`);
    }
    if (args.format === 'json') {
      writeStdout(
        list
          .map(
            (c) =>
              `${JSON.stringify({ ID: c.config.id, Names: c.config.name, Image: c.config.image, Command: c.config.argv.join(' '), CreatedAt: c.config.created, State: c.state.status, Status: statusText(c), ExitCode: c.state.exitCode ?? null, Pid: isRunning(c.state) ? c.state.pid : null })}\n`,
          )
          .join(''),
      );
      return 0;
    }
    const full = args.noTrunc;
    const id = (c: ContainerInfo) => (full ? c.config.id : c.config.id.slice(0, 12));
    if (args.quiet) {
      writeStdout(list.map((c) => `${id(c)}\n`).join(''));
      return 0;
    }
    const now = Date.now();
    const rows = list.map((c) => {
      const cmd = c.config.argv.join(' ');
      return [
        id(c),
        c.config.image,
        JSON.stringify(full || cmd.length <= 20 ? cmd : `${cmd.slice(0, 19)}…`),
        `${humanDuration(now - Date.parse(c.config.created))} ago`,
        statusText(c, now),
        c.config.name,
      ];
    });
    writeStdout(table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'], rows));
    return 0;
  },
});

export default ps;
