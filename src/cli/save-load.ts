import { BerthError } from '../errors';
import { familiar } from '../image/reference';
import { Berth } from '../index';
import { command, positionals } from './command';

export const save = command({
  name: 'save',
  operands: 'IMAGE [IMAGE...]',
  summary: "Write images as an OCI image layout tar (with docker's manifest.json: docker load, podman, skopeo and umoci read it).",
  flags: [{ name: '--output', short: 'o', kind: 'string', value: 'FILE', help: 'Write to a file, instead of STDOUT' }],
  async run(args, global): Promise<number> {
    const refs = positionals(save, args, 1, Infinity);
    const out = args.output;
    if (out === undefined && process.stdout.isTTY) {
      throw new BerthError('INVALID_ARGUMENT', 'Refusing to write a tar archive to a terminal; use -o FILE or redirect the output');
    }
    await new Berth(global).saveImages(refs, out ?? 1);
    return 0;
  },
});

export const load = command({
  name: 'load',
  summary: 'Load images from an OCI image layout tar or a docker save archive (plain or gzip).',
  flags: [
    { name: '--input', short: 'i', kind: 'string', value: 'FILE', help: 'Read from tar archive file, instead of STDIN' },
    { name: '--quiet', short: 'q', kind: 'boolean', help: 'Suppress the load output' },
  ],
  async run(args, global): Promise<number> {
    positionals(load, args, 0);
    const input = args.input;
    if (input === undefined && process.stdin.isTTY) {
      throw new BerthError('INVALID_ARGUMENT', 'No archive to load: use -i FILE or pipe the archive into berth load');
    }
    const result = await new Berth(global).loadImages(input ?? '/dev/stdin');
    if (!args.quiet) {
      for (const image of result.images) {
        if (image.names.length === 0) process.stdout.write(`Loaded image ID: ${image.id}\n`);
        for (const n of image.names) process.stdout.write(`Loaded image: ${familiar(n)}\n`);
      }
    }
    return 0;
  },
});
