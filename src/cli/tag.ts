import { Berth } from '../index';
import { command, positionals } from './command';

const tag = command({
  name: 'tag',
  operands: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  summary: 'Create a name TARGET_IMAGE that refers to SOURCE_IMAGE.',
  flags: [],
  run(args, global): number {
    const [source, target] = positionals(tag, args, 2);
    new Berth(global).tagImage(source, target);
    return 0;
  },
});

export default tag;
