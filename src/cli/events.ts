import { Berth } from '../index';
import { invalid } from '../errors';
import { eventText, parseEventFilters } from '../runtime/events-journal-filter';
import { command, positionals } from './command';
import { writeStdout } from './write';

/** `berth events`: the journal's past events (--since), then live ones until --until or Ctrl-C. */
const events = command({
  name: 'events',
  summary: 'Get real time events from berth (every berth process of this run root, and the shims of detached containers).',
  notes:
    'Filters: type=container|image|network|volume, event=ACTION, container=NAME|ID, image=NAME, network=, volume=, label=KEY[=VALUE].\n' +
    'Times: Unix seconds, an RFC 3339 time, or a duration back from now (10m, 1h30m).',
  flags: [
    { name: '--since', kind: 'string', value: 'TIME', help: 'Show events created since this time (past events are replayed)' },
    { name: '--until', kind: 'string', value: 'TIME', help: 'Stream events until this time' },
    { name: '--filter', short: 'f', kind: 'strings', value: 'KEY=VALUE', help: 'Filter output based on conditions provided' },
    { name: '--format', kind: 'string', value: 'FORMAT', help: "json: one JSON object per line (docker's event shape)" },
  ],
  async run(args, global): Promise<number> {
    positionals(events, args, 0);
    const format = args.format;
    if (format !== undefined && format !== 'json' && format !== '{{json .}}') throw invalid('--format', 'json', format);
    const filters = parseEventFilters(args.filter ?? []);
    const berth = new Berth(global);
    const stop = new AbortController();
    const interrupt = () => stop.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    try {
      for await (const e of berth.events({
        ...(args.since !== undefined ? { since: args.since } : {}),
        ...(args.until !== undefined ? { until: args.until } : {}),
        filters,
        signal: stop.signal,
      }))
        writeStdout(`${format === undefined ? eventText(e) : JSON.stringify(e)}\n`);
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
    return 0;
  },
});

export default events;
