import { Berth } from '../index';
import type { ContainerInfo } from '../runtime/types';
import { humanDuration, table, type Command } from './command';

export function statusText(c: ContainerInfo, now = Date.now()): string {
  const s = c.state;
  if (s.status === 'running') return `Up ${humanDuration(now - Date.parse(s.startedAt!))}`;
  if (s.status === 'exited') return `Exited (${s.exitCode ?? 255}) ${humanDuration(now - Date.parse(s.finishedAt ?? c.config.created))} ago`;
  return 'Created';
}

const ps: Command = {
  usage: 'ps [OPTIONS]',
  summary: 'List containers (running ones unless -a).',
  help: `  -a, --all        Show all containers
  -q, --quiet      Only display container IDs
      --no-trunc   Do not truncate output`,
  spec: { '--all': Boolean, '-a': '--all', '--quiet': Boolean, '-q': '--quiet', '--no-trunc': Boolean },
  run(args, global) {
    const list = new Berth(global).ps({ all: !!args['--all'] });
    const full = !!args['--no-trunc'];
    const id = (c: ContainerInfo) => (full ? c.config.id : c.config.id.slice(0, 12));
    if (args['--quiet']) {
      process.stdout.write(list.map((c) => `${id(c)}\n`).join(''));
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
    process.stdout.write(table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'], rows));
    return 0;
  },
};

export default ps;
