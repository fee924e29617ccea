/** `berth rename OLD NEW` (also `berth container rename`): docker's rename of a container. */
import { Berth } from '../index';
import { command, positionals } from './command';

const rename = command({
  name: 'rename',
  operands: 'CONTAINER NEW_NAME',
  summary: 'Rename a container (its hostname stays; containers on its user networks resolve the new name).',
  flags: [],
  run(args, global): number {
    const [ref, newName] = positionals(rename, args, 2, 2);
    new Berth(global).rename(ref, newName);
    return 0;
  },
});

export default rename;
