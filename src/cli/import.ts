import { Berth } from '../index';
import { positionals, type Command } from './command';

const importCmd: Command = {
  usage: 'import FILE NAME[:TAG]',
  summary: 'Import a flat rootfs tarball (docker export format) as a one-layer image.',
  help: '',
  spec: {},
  async run(args, global) {
    const [file, ref] = positionals(importCmd, args, 2);
    const image = await new Berth(global).importImage(file, ref);
    process.stdout.write(`${image.id}\n`);
    return 0;
  },
};

export default importCmd;
