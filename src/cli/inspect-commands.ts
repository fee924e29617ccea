import * as os from 'node:os';
import { Berth } from '../index';
import { command, humanSize, positionals, table } from './command';
import { commandGroup } from './group';
import { STATS_HEADER, StatsContext } from './format/contexts';
import { formatList } from './format/formatter';

/** docker's `stats --format table`: its default columns. */
const STATS_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

export const top = command({
  name: 'top',
  operands: 'CONTAINER',
  summary: 'Show the processes of a running container (host PIDs).',
  flags: [],
  run(args, global): number {
    const [ref] = positionals(top, args, 1);
    const rows = new Berth(global).top(ref).map((p) => [String(p.uid), String(p.pid), String(p.ppid), p.command]);
    process.stdout.write(table(['UID', 'PID', 'PPID', 'CMD'], rows));
    return 0;
  },
});

export const stats = command({
  name: 'stats',
  operands: 'CONTAINER [CONTAINER...]',
  summary: 'Memory, CPU and process counts of running containers, from their cgroups.',
  flags: [
    {
      name: '--no-stream',
      kind: 'boolean',
      help: 'Disable streaming stats and only pull the first result (default: refresh every second)',
    },
    { name: '--no-trunc', kind: 'boolean', help: 'Do not truncate output' },
    {
      name: '--format',
      kind: 'string',
      value: 'FORMAT',
      help: "Format output: table, json, 'table TEMPLATE' or a Go template: {{.Container}} {{.Name}} {{.ID}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.NetIO}} {{.BlockIO}} {{.PIDs}}",
    },
  ],
  async run(args, global): Promise<number> {
    const berth = new Berth(global);
    const refs = positionals(stats, args, 1, Infinity);
    let previous = new Map<string, [number, number]>();
    for (;;) {
      const now = Date.now();
      const next = new Map<string, [number, number]>();
      const formatted: StatsContext[] = [];
      const rows = refs.map((ref) => {
        const s = berth.stats(ref);
        const prev = previous.get(s.id);
        next.set(s.id, [now, s.cpuNanos ?? 0]);
        const cpuPercent = prev && s.cpuNanos !== undefined ? ((s.cpuNanos - prev[1]) / ((now - prev[0]) * 1e6)) * 100 : undefined;
        // docker takes the host's memory as the limit of a container without one
        const memoryLimit = s.memoryLimit ?? os.totalmem();
        formatted.push(
          new StatsContext(
            { container: ref, name: s.name, id: s.id, cpuPercent, memory: s.memoryBytes, memoryLimit, pids: s.pids },
            !args.noTrunc,
          ),
        );
        // CPU % over the last interval, like docker; one sample has no interval yet
        const cpu = prev && s.cpuNanos !== undefined ? `${(((s.cpuNanos - prev[1]) / ((now - prev[0]) * 1e6)) * 100).toFixed(2)}%` : '--';
        const mem =
          s.memoryBytes === undefined
            ? '--'
            : `${humanSize(s.memoryBytes)} / ${s.memoryLimit === undefined ? 'unlimited' : humanSize(s.memoryLimit)}`;
        return [s.id.slice(0, 12), s.name, cpu, mem, String(s.pids ?? '--')];
      });
      if (args.format !== undefined && args.format !== '')
        process.stdout.write(
          formatList({ format: args.format, header: STATS_HEADER, defaultTable: STATS_TABLE, command: 'stats' }, formatted),
        );
      else process.stdout.write(table(['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'PIDS'], rows));
      if (args.noStream) return 0;
      previous = next;
      await new Promise((r) => setTimeout(r, 1000));
    }
  },
});

const containerPrune = command({
  name: 'container prune',
  summary: 'Remove every container that is not running.',
  // berth never prompts; -f is accepted as docker accepts it, so that docker's scripts run
  flags: [{ name: '--force', short: 'f', kind: 'boolean', help: 'Do not prompt for confirmation (berth never prompts)' }],
  async run(args, global): Promise<number> {
    positionals(containerPrune, args, 0);
    for (const id of await new Berth(global).prune()) process.stdout.write(`${id}\n`);
    return 0;
  },
});

const containerCleanup = command({
  name: 'container cleanup',
  operands: 'ID [SHIM_PID]',
  summary: "Release the networks of a stopped container (its shim's exit command).",
  flags: [],
  async run(args, global): Promise<number> {
    const [id, shimPid] = positionals(containerCleanup, args, 1, 2);
    const shim = shimPid !== undefined && /^\d+$/.test(shimPid) ? Number(shimPid) : undefined;
    await new Berth(global).runtime.cleanup(id, shim);
    return 0;
  },
});

export const container = commandGroup('container', 'Container housekeeping: prune; cleanup (run by a shim when its container exits).', {
  prune: async () => containerPrune,
  cleanup: async () => containerCleanup,
  rename: async () => (await import('./rename')).default,
  pause: async () => (await import('./pause')).pause,
  unpause: async () => (await import('./pause')).unpause,
});
