import { familiar } from '../image/reference';
import { Berth } from '../index';
import { command, humanDuration, humanSize, table } from './command';

const images = command({
  name: 'images',
  summary: 'List images.',
  flags: [
    { name: '--quiet', short: 'q', kind: 'boolean', help: 'Only show image IDs' },
    { name: '--no-trunc', kind: 'boolean', help: "Don't truncate output" },
  ],
  run(args, global) {
    const list = new Berth(global).listImages();
    const id = (i: string) => (args.noTrunc ? i : i.replace(/^sha256:/, '').slice(0, 12));
    if (args.quiet) {
      process.stdout.write([...new Set(list.map((i) => id(i.id)))].map((i) => `${i}\n`).join(''));
      return 0;
    }
    const now = Date.now();
    const rows: string[][] = [];
    for (const img of list) {
      const names = img.names.length ? img.names : ['<none>:<none>'];
      for (const n of names) {
        const short = familiar(n);
        const at = short.lastIndexOf(':');
        rows.push([
          short.slice(0, at),
          short.slice(at + 1),
          id(img.id),
          `${humanDuration(now - Date.parse(img.created))} ago`,
          humanSize(img.size),
        ]);
      }
    }
    process.stdout.write(table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], rows));
    return 0;
  },
});

export default images;
