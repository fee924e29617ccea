import { Berth } from '../index';
import { command, errorLine, positionals } from './command';

const rmi = command({
  name: 'rmi',
  operands: 'IMAGE [IMAGE...]',
  summary: 'Remove images; layers no other image uses are deleted.',
  flags: [{ name: '--force', short: 'f', kind: 'boolean', help: 'Force removal of the image, even if a container uses it' }],
  run(args, global): number {
    const berth = new Berth(global);
    let failed = 0;
    for (const ref of positionals(rmi, args, 1, Infinity)) {
      try {
        const r = berth.removeImage(ref, { force: args.force });
        for (const u of r.untagged) process.stdout.write(`Untagged: ${u}\n`);
        for (const d of r.deleted) process.stdout.write(`Deleted: ${d}\n`);
      } catch (e) {
        failed++;
        process.stderr.write(errorLine(e));
      }
    }
    return failed ? 1 : 0;
  },
});

export default rmi;
