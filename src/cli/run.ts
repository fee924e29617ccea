import { BerthError } from '../errors';
import { Berth } from '../index';
import { checkContainerOptions } from '../runtime/option-checks';
import { command } from './command';
import { CONTAINER_FLAGS, containerOptions } from './container-flags';
import type { Flag } from './flags';
import { claimCidfile } from './run-files';
import { attachedRun, RUN_ATTACH_FLAGS, runAttached } from './run-attached';

const DETACH_FLAG = {
  name: '--detach',
  short: 'd',
  kind: 'boolean',
  help: 'Run container in background under a shim and print container ID',
} as const satisfies Flag;

const run = command({
  name: 'run',
  operands: 'IMAGE [COMMAND] [ARG...]',
  summary: 'Create and run a new container from an image, in the foreground.',
  stopAtPositional: true,
  flags: [...CONTAINER_FLAGS, DETACH_FLAG, ...RUN_ATTACH_FLAGS],
  async run(args, global): Promise<number> {
    const [image, ...cmd] = args._;
    if (!image) throw new BerthError('INVALID_ARGUMENT', `"berth run" requires at least 1 argument; usage: berth ${run.usage}`);
    const { tty, interactive } = args;
    if (tty && interactive && !args.detach && !process.stdin.isTTY) {
      throw new BerthError('INVALID_ARGUMENT', 'the input device is not a TTY; drop -t or run berth from a terminal');
    }
    const berth = new Berth(global);
    const options = containerOptions(args, image, cmd, global);
    // before the image is looked for: a bad flag must not cost a pull
    checkContainerOptions(options, 'berth run', false);
    if (args.detach && args.attach?.length) throw new BerthError('INVALID_ARGUMENT', 'Conflicting options: -a and -d; drop one of them');
    // checked before anything is created: a bad -a or --detach-keys is a usage error
    const attached = args.detach ? undefined : attachedRun(args, image);
    if (!args.detach && options.restart !== undefined && options.restart !== 'no') {
      throw new BerthError('INVALID_ARGUMENT', 'A restart policy needs a detached container: add -d');
    }
    const cidfile = claimCidfile(args.cidfile);
    try {
      if (args.detach) {
        const info = await berth.runDetached(options);
        cidfile.write(info.config.id);
        process.stdout.write(`${info.config.id}\n`);
        return 0;
      }
      // under its shim, attached from before it starts (run-attached.ts)
      return await runAttached(
        berth,
        attached!,
        (a) => berth.runDetached(options, a),
        (info) => cidfile.write(info.config.id),
      );
    } catch (e) {
      cidfile.abandon();
      throw e;
    }
  },
});

export default run;
