import { listEntry } from '../api/docker/container-json';
import { Berth } from '../index';
import { mountsOf } from '../runtime/container-volumes';
import type { ContainerInfo } from '../runtime/types';
import { command, humanDuration, table } from './command';
import { CONTAINER_HEADER, ContainerContext, type ContainerSummary } from './format/container-context';
import { formatList } from './format/formatter';
import { statusText } from './format/status';
import { writeStdout } from './write';

export { statusText } from './format/status';

/** docker's `ps --format table`: its default columns. */
const DEFAULT_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

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
    {
      name: '--format',
      kind: 'string',
      value: 'FORMAT',
      help: 'Format output: table, json (one object per line), \'table TEMPLATE\' or a Go template: {{.ID}} {{.Image}} {{.Command}} {{.CreatedAt}} {{.RunningFor}} {{.Ports}} {{.State}} {{.Status}} {{.Size}} {{.Names}} {{.Labels}} {{.Label "KEY"}} {{.Mounts}} {{.Networks}}',
    },
  ],
  run(args, global) {
    const berth = new Berth(global);
    const list = berth.ps({ all: args.all, filters: args.filter ?? [] });
    if (args.format !== undefined && args.format !== '' && !args.quiet) {
      // the same entries the Engine API lists, so that berth and docker print the same fields
      const rows = list.map((c) => new ContainerContext(listEntry(withEndpoints(berth, c)) as unknown as ContainerSummary, !args.noTrunc));
      writeStdout(formatList({ format: args.format, header: CONTAINER_HEADER, defaultTable: DEFAULT_TABLE, command: 'ps' }, rows));
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

/** ps lists containers without their endpoints and mounts; Ports, Networks and Mounts need them. */
function withEndpoints(berth: Berth, c: ContainerInfo): ContainerInfo {
  const networks = berth.runtime.endpoints(c);
  const mounts = mountsOf(c.config);
  return networks.length > 0 ? { ...c, mounts, network: networks[0], networks } : { ...c, mounts };
}

export default ps;
