import { Berth } from '../index';
import { errorLine, positionals, type Command } from './command';

const rm: Command = {
  usage: 'rm [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Remove containers with their write layer and cgroup.',
  help: '  -f, --force   Kill a running container before removing it',
  spec: { '--force': Boolean, '-f': '--force' },
  async run(args, global) {
    const berth = new Berth(global);
    let failed = 0;
    for (const ref of positionals(rm, args, 1, Infinity)) {
      try {
        await berth.remove(ref, { force: !!args['--force'] });
        process.stdout.write(`${ref}\n`);
      } catch (e) {
        failed++;
        process.stderr.write(errorLine(e));
      }
    }
    return failed ? 1 : 0;
  },
};

export default rm;
