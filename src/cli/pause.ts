/** `berth pause` and `berth unpause`: the cgroup freezer, as docker's. */
import { command } from './command';
import { forEach } from './lifecycle-commands';

export const pause = command({
  name: 'pause',
  operands: 'CONTAINER [CONTAINER...]',
  summary: 'Pause all processes within one or more containers (the cgroup freezer).',
  flags: [],
  run(args, global): Promise<number> {
    return forEach(pause, args, global, (b, ref) => b.pause(ref));
  },
});

export const unpause = command({
  name: 'unpause',
  operands: 'CONTAINER [CONTAINER...]',
  summary: 'Unpause all processes within one or more containers.',
  flags: [],
  run(args, global): Promise<number> {
    return forEach(unpause, args, global, (b, ref) => b.unpause(ref));
  },
});
