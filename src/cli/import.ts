import { Berth } from '../index';
import { command, positionals } from './command';

const importCmd = command({
  name: 'import',
  operands: 'FILE NAME[:TAG]',
  summary: 'Import a flat rootfs tarball (docker export format) as a one-layer image.',
  flags: [],
  async run(args, global): Promise<number> {
    const [file, ref] = positionals(importCmd, args, 2);
    const image = await new Berth(global).importImage(file, ref);
    process.stdout.write(`${image.id}\n`);
    return 0;
  },
});

export default importCmd;
