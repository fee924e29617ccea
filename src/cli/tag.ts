import { Berth } from '../index';
import { positionals, type Command } from './command';

const tag: Command = {
  usage: 'tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  summary: 'Create a name TARGET_IMAGE that refers to SOURCE_IMAGE.',
  help: '',
  spec: {},
  run(args, global) {
    const [source, target] = positionals(tag, args, 2);
    new Berth(global).tagImage(source, target);
    return 0;
  },
};

export default tag;
