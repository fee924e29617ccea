import { familiar } from '../image/reference';
import { Berth } from '../index';
import { command, humanDuration, humanSize, table } from './command';
import { IMAGE_HEADER, ImageContext, imageRows } from './format/contexts';
import { formatList } from './format/formatter';
import { writeStdout } from './write';

/** docker's `images --format table`: its default columns. */
const DEFAULT_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';

const images = command({
  name: 'images',
  summary: 'List images.',
  flags: [
    { name: '--quiet', short: 'q', kind: 'boolean', help: 'Only show image IDs' },
    { name: '--no-trunc', kind: 'boolean', help: "Don't truncate output" },
    {
      name: '--format',
      kind: 'string',
      value: 'FORMAT',
      help: "Format output: table, json (one object per line), 'table TEMPLATE' or a Go template: {{.ID}} {{.Repository}} {{.Tag}} {{.Digest}} {{.CreatedSince}} {{.CreatedAt}} {{.Size}}",
    },
  ],
  run(args, global) {
    const list = new Berth(global).listImages();
    if (args.format !== undefined && args.format !== '' && !args.quiet) {
      // docker shows digests in the rows only when the format asks for them
      const withDigest = args.format.includes('{{.Digest}}');
      const rows = list.flatMap((img) =>
        imageRows(
          {
            id: img.id,
            names: img.names,
            repoDigests: img.repoDigests,
            created: Math.floor(Date.parse(img.config.created ?? img.created) / 1000),
            size: img.size,
          },
          withDigest,
        ).map((r) => new ImageContext(r, !args.noTrunc)),
      );
      writeStdout(formatList({ format: args.format, header: IMAGE_HEADER, defaultTable: DEFAULT_TABLE, command: 'images' }, rows));
      return 0;
    }
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
