import { Berth } from '../index';
import { positionals, type Command } from './command';

const commit: Command = {
  usage: 'commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  summary: "Create a new image from a container's changes.",
  help: `  -c, --change INSTR    Apply a Dockerfile instruction to the image config: CMD, ENTRYPOINT, ENV,
                        WORKDIR, USER, LABEL or EXPOSE (repeatable)
  -m, --message TEXT    Commit message (the history entry's comment)
  -a, --author TEXT     Author, e.g. "Jane Doe <jane@example.com>"
A running container is committed as it is, without pausing it.`,
  spec: { '--change': [String], '-c': '--change', '--message': String, '-m': '--message', '--author': String, '-a': '--author' },
  async run(args, global) {
    const [container, ref] = positionals(commit, args, 1, 2);
    const image = await new Berth(global).commit(container, ref, {
      changes: args['--change'] ?? [],
      message: args['--message'],
      author: args['--author'],
    });
    process.stdout.write(`${image.id}\n`);
    return 0;
  },
};

export default commit;
