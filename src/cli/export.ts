import { BerthError } from '../errors';
import { Berth } from '../index';
import { command, positionals } from './command';

const exportCmd = command({
  name: 'export',
  operands: 'CONTAINER',
  summary: "Write a container's filesystem as a flat tar archive (what `berth import` reads).",
  flags: [{ name: '--output', short: 'o', kind: 'string', value: 'FILE', help: 'Write to a file, instead of STDOUT' }],
  async run(args, global): Promise<number> {
    const [container] = positionals(exportCmd, args, 1);
    const out = args.output;
    if (out === undefined && process.stdout.isTTY) {
      throw new BerthError('INVALID_ARGUMENT', 'Refusing to write a tar archive to a terminal; use -o FILE or redirect the output');
    }
    await new Berth(global).exportContainer(container, out ?? 1);
    return 0;
  },
});

export default exportCmd;
