import { Berth } from '../index';
import { quote } from '../util/quote';
import { humanSize, positionals, table, type Command } from './command';

export const top: Command = {
  usage: 'top CONTAINER',
  summary: 'Show the processes of a running container (host PIDs).',
  help: '',
  spec: {},
  run(args, global) {
    const [ref] = positionals(top, args, 1);
    const rows = new Berth(global).top(ref).map((p) => [String(p.uid), String(p.pid), String(p.ppid), p.command]);
    process.stdout.write(table(['UID', 'PID', 'PPID', 'CMD'], rows));
    return 0;
  },
};

export const stats: Command = {
  usage: 'stats [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Memory, CPU and process counts of running containers, from their cgroups.',
  help: '      --no-stream   Print one sample and exit (default: refresh every second until interrupted)',
  spec: { '--no-stream': Boolean },
  async run(args, global) {
    const berth = new Berth(global);
    const refs = positionals(stats, args, 1, Infinity);
    let previous = new Map<string, [number, number]>();
    for (;;) {
      const now = Date.now();
      const next = new Map<string, [number, number]>();
      const rows = refs.map((ref) => {
        const s = berth.stats(ref);
        const prev = previous.get(s.id);
        next.set(s.id, [now, s.cpuNanos ?? 0]);
        // CPU % over the last interval, like docker; one sample has no interval yet
        const cpu = prev && s.cpuNanos !== undefined ? `${(((s.cpuNanos - prev[1]) / ((now - prev[0]) * 1e6)) * 100).toFixed(2)}%` : '--';
        const mem = s.memoryBytes === undefined ? '--' : `${humanSize(s.memoryBytes)} / ${s.memoryLimit === undefined ? 'unlimited' : humanSize(s.memoryLimit)}`;
        return [s.id.slice(0, 12), s.name, cpu, mem, String(s.pids ?? '--')];
      });
      process.stdout.write(table(['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'PIDS'], rows));
      if (args['--no-stream']) return 0;
      previous = next;
      await new Promise((r) => setTimeout(r, 1000));
    }
  },
};

export const container: Command = {
  usage: 'container prune | container cleanup ID [SHIM_PID]',
  summary: 'Container housekeeping: `prune` removes every container that is not running; `cleanup`\nreleases the networks of a stopped one (run by its shim when it exits).',
  help: '',
  spec: { '--force': Boolean, '-f': '--force' },
  async run(args, global) {
    const [sub, ...rest] = positionals(container, args, 1, 3);
    if (sub === 'cleanup' && rest.length >= 1) {
      const shim = rest[1] !== undefined && /^\d+$/.test(rest[1]) ? Number(rest[1]) : undefined;
      await new Berth(global).runtime.cleanup(rest[0], shim);
      return 0;
    }
    if (sub !== 'prune' || rest.length > 0) {
      const { BerthError } = await import('../errors');
      throw new BerthError('INVALID_ARGUMENT', `berth container: unknown subcommand ${quote(sub)}; see 'berth container --help'`);
    }
    for (const id of await new Berth(global).prune()) process.stdout.write(`${id}\n`);
    return 0;
  },
};
