import { Berth } from '../index';
import { command, positionals } from './command';

const commit = command({
  name: 'commit',
  operands: 'CONTAINER [REPOSITORY[:TAG]]',
  summary: "Create a new image from a container's changes.",
  notes: 'A running container is committed as it is, without pausing it.',
  flags: [
    {
      name: '--change',
      short: 'c',
      kind: 'strings',
      value: 'INSTR',
      help: 'Apply Dockerfile instruction to the created image: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL or EXPOSE',
    },
    { name: '--message', short: 'm', kind: 'string', value: 'TEXT', help: "Commit message (the history entry's comment)" },
    { name: '--author', short: 'a', kind: 'string', value: 'TEXT', help: 'Author (e.g., "Jane Doe <jane@example.com>")' },
  ],
  async run(args, global): Promise<number> {
    const [container, ref] = positionals(commit, args, 1, 2);
    const image = await new Berth(global).commit(container, ref, {
      changes: args.change ?? [],
      message: args.message,
      author: args.author,
    });
    process.stdout.write(`${image.id}\n`);
    return 0;
  },
});

export default commit;
