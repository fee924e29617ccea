import { Berth, type VolumeInfo } from '../index';
import { parseVolumeLabels } from '../volume/names';
import { command, errorLine, positionals, table } from './command';
import { commandGroup } from './group';
import { VOLUME_HEADER, VolumeContext } from './format/contexts';
import { formatList } from './format/formatter';

/** `berth volume SUBCOMMAND`: volumes of the local driver, as docker's `volume` commands. */
const create = command({
  name: 'volume create',
  operands: '[VOLUME]',
  summary: 'Create a volume (a generated 64-hex name without VOLUME); an existing one is left as it is.',
  flags: [
    { name: '--label', short: 'l', kind: 'strings', value: 'KEY=VALUE', help: 'Set metadata for a volume' },
    { name: '--driver', short: 'd', kind: 'string', value: 'NAME', help: 'Volume driver name: local, the only one berth has' },
  ],
  run(args, global): number {
    const [name] = positionals(create, args, 0, 1);
    if (args.driver !== undefined && args.driver !== 'local') {
      process.stderr.write(`berth: Volume driver ${JSON.stringify(args.driver)} is not available; berth has only local\n`);
      return 125;
    }
    const info = new Berth(global).createVolume({ name, labels: parseVolumeLabels(args.label) });
    process.stdout.write(`${info.Name}\n`);
    return 0;
  },
});

const ls = command({
  name: 'volume ls',
  summary: 'List volumes.',
  flags: [
    { name: '--quiet', short: 'q', kind: 'boolean', help: 'Only display volume names' },
    {
      name: '--filter',
      short: 'f',
      kind: 'strings',
      value: 'KEY=VALUE',
      help: 'Filter output: name=PART, label=KEY[=VALUE], dangling=true|false, driver=local',
    },
    {
      name: '--format',
      kind: 'string',
      value: 'FORMAT',
      help: 'Format output: table, json, \'table TEMPLATE\' or a Go template: {{.Name}} {{.Driver}} {{.Scope}} {{.Mountpoint}} {{.Labels}} {{.Label "KEY"}}',
    },
  ],
  run(args, global): number {
    positionals(ls, args, 0);
    const list = new Berth(global).listVolumes({ filters: args.filter });
    if (args.format !== undefined && args.format !== '' && !args.quiet)
      process.stdout.write(
        formatList(
          { format: args.format, header: VOLUME_HEADER, defaultTable: 'table {{.Driver}}\t{{.Name}}', command: 'volume ls' },
          list.map((v) => new VolumeContext(v)),
        ),
      );
    else if (args.quiet) process.stdout.write(list.map((v) => `${v.Name}\n`).join(''));
    else
      process.stdout.write(
        table(
          ['DRIVER', 'VOLUME NAME'],
          list.map((v) => [v.Driver, v.Name]),
        ),
      );
    return 0;
  },
});

const inspect = command({
  name: 'volume inspect',
  operands: 'VOLUME [VOLUME...]',
  summary: 'Show volumes as JSON.',
  flags: [],
  run(args, global): number {
    const berth = new Berth(global);
    // as docker: the volumes found are printed, each missing one is an error line
    const out: VolumeInfo[] = [];
    let failed = false;
    for (const n of positionals(inspect, args, 1, Infinity)) {
      try {
        out.push(berth.inspectVolume(n));
      } catch (e) {
        failed = true;
        process.stderr.write(errorLine(e));
      }
    }
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return failed ? 125 : 0;
  },
});

const rm = command({
  name: 'volume rm',
  operands: 'VOLUME [VOLUME...]',
  summary: 'Remove volumes (refused while a container, running or stopped, uses one).',
  flags: [{ name: '--force', short: 'f', kind: 'boolean', help: 'No error for a volume that does not exist' }],
  run(args, global): number {
    const berth = new Berth(global);
    let failed = false;
    for (const n of positionals(rm, args, 1, Infinity)) {
      try {
        berth.removeVolume(n, { force: args.force });
        process.stdout.write(`${n}\n`);
      } catch (e) {
        failed = true;
        process.stderr.write(errorLine(e));
      }
    }
    return failed ? 125 : 0;
  },
});

const prune = command({
  name: 'volume prune',
  summary: 'Remove unused anonymous volumes (every unused volume with --all).',
  // berth never prompts; -f is accepted as docker accepts it, so that docker's scripts run
  flags: [
    { name: '--all', short: 'a', kind: 'boolean', help: 'Remove all unused volumes, not just anonymous ones' },
    { name: '--filter', kind: 'strings', value: 'label=KEY[=VALUE]', help: 'Only volumes with these labels' },
    { name: '--force', short: 'f', kind: 'boolean', help: 'Do not prompt for confirmation (berth never prompts)' },
  ],
  run(args, global): number {
    positionals(prune, args, 0);
    const { removed, spaceReclaimed } = new Berth(global).pruneVolumes({ all: args.all, filters: args.filter });
    const list = removed.length > 0 ? `Deleted Volumes:\n${removed.map((n) => `${n}\n`).join('')}\n` : '';
    process.stdout.write(`${list}Total reclaimed space: ${humanBytes(spaceReclaimed)}\n`);
    return 0;
  },
});

/** docker's units.HumanSize: decimal units, up to four significant digits. */
function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(4))}${units[i]}`;
}

const volume = commandGroup('volume', 'Manage volumes.', {
  create: async () => create,
  ls: async () => ls,
  list: async () => ls,
  inspect: async () => inspect,
  rm: async () => rm,
  remove: async () => rm,
  prune: async () => prune,
});

export default volume;
