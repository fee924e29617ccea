import { Berth } from '../index';
import { command, humanDuration, humanSize, positionals, table } from './command';
import { writeStdout } from './write';

/** docker's width of CREATED BY without --no-trunc. */
const CREATED_BY_WIDTH = 45;

const history = command({
  name: 'image history',
  operands: 'IMAGE',
  summary: 'Show the history of an image: the steps that made it, newest first, with the size of each layer.',
  flags: [
    { name: '--no-trunc', kind: 'boolean', help: "Don't truncate output" },
    { name: '--quiet', short: 'q', kind: 'boolean', help: 'Only show image IDs' },
  ],
  run(args, global): number {
    const [ref] = positionals(history, args, 1);
    const rows = new Berth(global).imageHistory(ref);
    const full = args.noTrunc === true;
    const id = (s: string): string => (full || !s.startsWith('sha256:') ? s : s.slice(7, 19));
    if (args.quiet) {
      writeStdout(rows.map((r) => `${id(r.Id)}\n`).join(''));
      return 0;
    }
    const now = Date.now();
    const cut = (s: string): string => (full || s.length <= CREATED_BY_WIDTH ? s : `${s.slice(0, CREATED_BY_WIDTH - 1)}…`);
    const body = rows.map((r) => [
      id(r.Id),
      r.Created ? `${humanDuration(now - r.Created * 1000)} ago` : 'N/A',
      cut(r.CreatedBy.replace(/\s+/g, ' ')),
      humanSize(r.Size),
      r.Comment,
    ]);
    writeStdout(table(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], body));
    return 0;
  },
});

export default history;
