import { BerthError } from '../errors';
import { Berth } from '../index';
import { quote } from '../util/quote';
import { humanSize, parse, positionals, type Command } from './command';

export const imageInspect: Command = {
  usage: 'image inspect IMAGE [IMAGE...]',
  summary: 'Show images as JSON: ID, names, repo digests, config and layers (diff ID, chain ID, blob).',
  help: '',
  spec: {},
  run(args, global) {
    const berth = new Berth(global);
    const out = positionals(imageInspect, args, 1, Infinity).map((ref) => berth.inspectImage(ref));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  },
};

export const imagePrune: Command = {
  usage: 'image prune [OPTIONS]',
  summary: 'Remove images without a name that no container uses, and layers and blobs no image references.',
  help: '  -f, --force   Do not prompt for confirmation (berth never prompts; accepted as docker accepts it)',
  spec: { '--force': Boolean, '-f': '--force' },
  run(args, global) {
    positionals(imagePrune, args, 0);
    const r = new Berth(global).pruneImages();
    if (r.images.length) process.stdout.write(`Deleted Images:\n${r.images.map((id) => `deleted: ${id}\n`).join('')}\n`);
    if (r.layers.length) process.stdout.write(`Deleted Layers:\n${r.layers.map((id) => `deleted: ${id}\n`).join('')}\n`);
    process.stdout.write(`Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
    return 0;
  },
};

/** `berth image SUBCOMMAND`: the two above, and docker's spellings of the image commands berth has at top level. */
const SUBCOMMANDS: Record<string, () => Command> = {
  inspect: () => imageInspect,
  prune: () => imagePrune,
  ls: () => require('./images').default,
  rm: () => require('./rmi').default,
  tag: () => require('./tag').default,
  pull: () => require('./pull').default,
  import: () => require('./import').default,
  save: () => require('./save-load').save,
  load: () => require('./save-load').load,
};

export const image: Command = {
  usage: 'image COMMAND',
  summary: 'Manage images: inspect, prune, ls, rm, tag, pull, import, save, load.',
  help: Object.keys(SUBCOMMANDS)
    .map((s) => `  ${s}`)
    .join('\n'),
  spec: {},
  stopAtPositional: true,
  run(args, global) {
    const [sub, ...rest] = args._;
    const load = sub === undefined ? undefined : SUBCOMMANDS[sub];
    if (!load) {
      throw new BerthError('INVALID_ARGUMENT', `${sub === undefined ? '"berth image" requires a subcommand' : `berth image: unknown subcommand ${quote(sub)}`}; one of ${Object.keys(SUBCOMMANDS).join(', ')}`);
    }
    const cmd = load();
    const subArgs = parse(cmd, rest);
    if (subArgs['--help']) {
      process.stdout.write(`Usage: berth ${cmd.usage}\n\n${cmd.summary}\n\nOptions:\n${cmd.help}\n`);
      return 0;
    }
    return cmd.run(subArgs, global);
  },
};
