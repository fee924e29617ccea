import { Berth } from '../index';
import { command, positionals } from './command';

const inspect = command({
  name: 'inspect',
  operands: 'CONTAINER [CONTAINER...]',
  summary: 'Show containers as JSON: config, state, pid, exit code, OOM kill, cgroup paths.',
  flags: [],
  run(args, global): number {
    const berth = new Berth(global);
    const out = positionals(inspect, args, 1, Infinity).map((ref) => {
      const c = berth.inspect(ref);
      return {
        ...c,
        cgroupPaths: berth.runtime.cgroupsOf(c.config).dirs(c.config.id),
        path: berth.runtime.store.containerDir(c.config.id),
      };
    });
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  },
});

export default inspect;
