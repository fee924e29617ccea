import { Berth } from '../index';
import { command, errorLine, positionals } from './command';

const rm = command({
  name: 'rm',
  operands: 'CONTAINER [CONTAINER...]',
  summary: 'Remove containers with their write layer and cgroup.',
  flags: [
    { name: '--force', short: 'f', kind: 'boolean', help: 'Force the removal of a running container (uses SIGKILL)' },
    { name: '--volumes', short: 'v', kind: 'boolean', help: 'Remove anonymous volumes associated with the container' },
  ],
  async run(args, global): Promise<number> {
    const berth = new Berth(global);
    let failed = 0;
    for (const ref of positionals(rm, args, 1, Infinity)) {
      try {
        await berth.remove(ref, { force: args.force, volumes: args.volumes });
        process.stdout.write(`${ref}\n`);
      } catch (e) {
        failed++;
        process.stderr.write(errorLine(e));
      }
    }
    return failed ? 1 : 0;
  },
});

export default rm;
