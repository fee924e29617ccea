import { Berth } from '../index';
import { command, positionals } from './command';
import { writeStdout } from './write';

/** docker's letters for the change kinds 0, 1 and 2 (modified, added, deleted). */
const LETTERS = ['C', 'A', 'D'];

const diff = command({
  name: 'diff',
  operands: 'CONTAINER',
  summary: "Inspect changes to files or directories on a container's filesystem.",
  notes: "C: changed, A: added, D: deleted, against the container's image.",
  flags: [],
  async run(args, global): Promise<number> {
    const [container] = positionals(diff, args, 1);
    const changes = await new Berth(global).diff(container);
    writeStdout(changes.map((c) => `${LETTERS[c.Kind]} ${c.Path}\n`).join(''));
    return 0;
  },
});

export default diff;
