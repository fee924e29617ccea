import { BerthError } from '../errors';
import { familiar } from '../image/reference';
import { Berth } from '../index';
import { positionals, type Command } from './command';

export const save: Command = {
  usage: 'save [OPTIONS] IMAGE [IMAGE...]',
  summary: 'Write images as an OCI image layout tar (with docker\'s manifest.json: docker load, podman, skopeo and umoci read it).',
  help: '  -o, --output FILE   Write to FILE instead of standard output',
  spec: { '--output': String, '-o': '--output' },
  async run(args, global) {
    const refs = positionals(save, args, 1, Infinity);
    const out: string | undefined = args['--output'];
    if (out === undefined && process.stdout.isTTY) {
      throw new BerthError('INVALID_ARGUMENT', 'Refusing to write a tar archive to a terminal; use -o FILE or redirect the output');
    }
    await new Berth(global).saveImages(refs, out ?? 1);
    return 0;
  },
};

export const load: Command = {
  usage: 'load [OPTIONS]',
  summary: 'Load images from an OCI image layout tar or a docker save archive (plain or gzip).',
  help: `  -i, --input FILE   Read from FILE instead of standard input
  -q, --quiet        Print nothing`,
  spec: { '--input': String, '-i': '--input', '--quiet': Boolean, '-q': '--quiet' },
  async run(args, global) {
    positionals(load, args, 0);
    const input: string | undefined = args['--input'];
    if (input === undefined && process.stdin.isTTY) {
      throw new BerthError('INVALID_ARGUMENT', 'No archive to load: use -i FILE or pipe the archive into berth load');
    }
    const result = await new Berth(global).loadImages(input ?? '/dev/stdin');
    if (!args['--quiet']) {
      for (const image of result.images) {
        if (image.names.length === 0) process.stdout.write(`Loaded image ID: ${image.id}\n`);
        for (const n of image.names) process.stdout.write(`Loaded image: ${familiar(n)}\n`);
      }
    }
    return 0;
  },
};
