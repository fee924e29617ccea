/** list, ps and events: what runc prints about containers, in runc's formats. */
import { listEntryOf } from '../oci/list-entry';
import { command } from './command';
import { OciCliError } from './errors';

const FORMAT = { name: 'format', short: 'f', kind: 'string', default: 'table', usage: 'select one of: table or json' } as const;

export const list = command({
  name: 'list',
  summary: 'lists containers started by berth-oci with the given root',
  args: '',
  flags: [FORMAT, { name: 'quiet', short: 'q', kind: 'bool', usage: 'display only container IDs' }],
  minArgs: 0,
  maxArgs: 0,
  run(a, ctx) {
    const entries = ctx
      .runtime()
      .list()
      .map((s) => listEntryOf(ctx.root, s));
    if (a.quiet) {
      ctx.io.stdout(entries.map((e) => `${e.id}\n`).join(''));
      return 0;
    }
    if (a.format === 'json') {
      // runc prints `null` for no containers (a nil Go slice); [] reads the same to Go's decoder
      // and is an array to every other reader.
      ctx.io.stdout(JSON.stringify(entries) + '\n');
    } else if (a.format === 'table') {
      const rows = entries.map((e) => [e.id, String(e.pid), e.status, e.bundle, e.created, e.owner]);
      ctx.io.stdout(tabwriter([['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...rows]));
    } else {
      throw new OciCliError('invalid format option');
    }
    return 0;
  },
});

/** Go's text/tabwriter as runc sets it up (minwidth 12, padding 3, spaces): each cell but a
 *  line's last padded to its column's width. */
export function tabwriter(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.slice(0, -1).forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 12, c.length + 3)));
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]) : c)).join('') + '\n').join('');
}

export const ps = command({
  name: 'ps',
  summary: 'ps displays the processes running inside a container',
  args: '<container-id> [ps options]',
  flags: [FORMAT],
  minArgs: 1,
  maxArgs: Infinity,
  reorder: false,
  run(a, ctx) {
    const pids = ctx.runtime().pids(a._[0]);
    if (a.format === 'json') {
      ctx.io.stdout(JSON.stringify(pids) + '\n');
      return 0;
    }
    if (a.format !== 'table') throw new OciCliError('invalid format option');
    const psArgs = a._.length > 1 ? a._.slice(1) : ['-ef'];
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const r = spawnSync('ps', psArgs, { encoding: 'utf8' });
    if (r.error) throw new OciCliError(`ps: ${r.error.message} (the procps package provides ps)`);
    if (r.status !== 0) throw new OciCliError(`ps ${psArgs.join(' ')}: exit status ${r.status}: ${(r.stdout + r.stderr).trim()}`);
    ctx.io.stdout(filterPs(r.stdout, pids));
    return 0;
  },
});

/** ps's header and the lines whose PID column is one of the container's pids. */
export function filterPs(output: string, pids: readonly number[]): string {
  const lines = output.split('\n');
  const pidIndex = lines[0].trim().split(/\s+/).indexOf('PID');
  if (pidIndex < 0) throw new OciCliError("couldn't find PID field in ps output");
  const want = new Set(pids);
  const out = [lines[0]];
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue;
    const pid = Number(line.trim().split(/\s+/)[pidIndex]);
    if (!Number.isInteger(pid)) throw new OciCliError(`unable to parse pid: ${JSON.stringify(line)}`);
    if (want.has(pid)) out.push(line);
  }
  return out.join('\n') + '\n';
}

export const events = command({
  name: 'events',
  summary: 'display container events such as OOM notifications, cpu, memory, and IO usage statistics',
  args: '<container-id>',
  flags: [
    { name: 'interval', kind: 'string', default: '5s', usage: 'set the stats collection interval' },
    { name: 'stats', kind: 'bool', usage: "display the container's stats then exit" },
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(a, ctx) {
    const id = a._[0];
    const interval = parseDuration(a.interval, 'interval');
    const rt = ctx.runtime();
    // One JSON object per line, as runc's json.Encoder writes them.
    const emit = () => ctx.io.stdout(JSON.stringify(statsEvent(id, rt.stats(id))) + '\n');
    emit();
    if (a.stats) return 0;
    // Until the container stops (or is deleted: state throws and the error is the command's).
    for (;;) {
      await new Promise((r) => setTimeout(r, interval));
      if (rt.state(id).status === 'stopped') return 0;
      emit();
    }
  },
});

/** runc's event envelope {type: 'stats', id, data}: the runtime's stats are the data unless they
 *  come enveloped already. */
export function statsEvent(id: string, stats: Record<string, unknown>): Record<string, unknown> {
  return stats.type === 'stats' && typeof stats.data === 'object' ? stats : { type: 'stats', id, data: stats };
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration ("5s", "1m30s", "250ms"), in milliseconds; runc's error when not. */
export function parseDuration(s: string, flag: string): number {
  const bad = () => new OciCliError(`invalid value ${JSON.stringify(s)} for flag -${flag}: parse error`);
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let i = 0;
  if (s === '') throw bad();
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw bad();
    total += Number(m[1]) * UNITS[m[2]];
    i = re.lastIndex;
  }
  if (total <= 0) throw new OciCliError(`duration interval must be greater than 0`);
  return total;
}
