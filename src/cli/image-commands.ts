import { Berth } from '../index';
import { command, humanSize, positionals, type Subcommands } from './command';
import { commandGroup } from './group';

export const imageInspect = command({
  name: 'image inspect',
  operands: 'IMAGE [IMAGE...]',
  summary: 'Show images as JSON: ID, names, repo digests, config and layers (diff ID, chain ID, blob).',
  flags: [],
  run(args, global): number {
    const berth = new Berth(global);
    const out = positionals(imageInspect, args, 1, Infinity).map((ref) => berth.inspectImage(ref));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  },
});

export const imagePrune = command({
  name: 'image prune',
  summary: 'Remove images without a name that no container uses, and layers and blobs no image references.',
  // berth never prompts; -f is accepted as docker accepts it, so that docker's scripts run
  flags: [{ name: '--force', short: 'f', kind: 'boolean', help: 'Do not prompt for confirmation (berth never prompts)' }],
  run(args, global): number {
    positionals(imagePrune, args, 0);
    const r = new Berth(global).pruneImages();
    if (r.images.length) process.stdout.write(`Deleted Images:\n${r.images.map((id) => `deleted: ${id}\n`).join('')}\n`);
    if (r.layers.length) process.stdout.write(`Deleted Layers:\n${r.layers.map((id) => `deleted: ${id}\n`).join('')}\n`);
    process.stdout.write(`Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
    return 0;
  },
});

/** `berth image SUBCOMMAND`: the two above, and docker's spellings of the image commands berth has at top level. */
const SUBCOMMANDS: Subcommands = {
  inspect: async () => imageInspect,
  prune: async () => imagePrune,
  history: async () => (await import('./history')).default,
  ls: async () => (await import('./images')).default,
  rm: async () => (await import('./rmi')).default,
  tag: async () => (await import('./tag')).default,
  pull: async () => (await import('./pull')).default,
  push: async () => (await import('./push')).default,
  import: async () => (await import('./import')).default,
  save: async () => (await import('./save-load')).save,
  load: async () => (await import('./save-load')).load,
};

export const image = commandGroup(
  'image',
  'Manage images: inspect, history, prune, ls, rm, tag, pull, push, import, save, load.',
  SUBCOMMANDS,
);
