import { Berth } from '../index';
import { errorLine, positionals, type Command } from './command';

const rmi: Command = {
  usage: 'rmi [OPTIONS] IMAGE [IMAGE...]',
  summary: 'Remove images; layers no other image uses are deleted.',
  help: '  -f, --force   Remove the image even if a container uses it',
  spec: { '--force': Boolean, '-f': '--force' },
  run(args, global) {
    const berth = new Berth(global);
    let failed = 0;
    for (const ref of positionals(rmi, args, 1, Infinity)) {
      try {
        const r = berth.removeImage(ref, { force: !!args['--force'] });
        for (const u of r.untagged) process.stdout.write(`Untagged: ${u}\n`);
        for (const d of r.deleted) process.stdout.write(`Deleted: ${d}\n`);
      } catch (e) {
        failed++;
        process.stderr.write(errorLine(e));
      }
    }
    return failed ? 1 : 0;
  },
};

export default rmi;
