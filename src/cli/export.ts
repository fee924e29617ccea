import { BerthError } from '../errors';
import { Berth } from '../index';
import { positionals, type Command } from './command';

const exportCmd: Command = {
  usage: 'export [OPTIONS] CONTAINER',
  summary: "Write a container's filesystem as a flat tar archive (what `berth import` reads).",
  help: '  -o, --output FILE   Write to FILE instead of standard output',
  spec: { '--output': String, '-o': '--output' },
  async run(args, global) {
    const [container] = positionals(exportCmd, args, 1);
    const out: string | undefined = args['--output'];
    if (out === undefined && process.stdout.isTTY) {
      throw new BerthError('INVALID_ARGUMENT', 'Refusing to write a tar archive to a terminal; use -o FILE or redirect the output');
    }
    await new Berth(global).exportContainer(container, out ?? 1);
    return 0;
  },
};

export default exportCmd;
