import { BerthError } from '../errors';
import { Berth } from '../index';
import { checkContainerOptions } from '../runtime/option-checks';
import { attachForeground, foregroundStdio } from './attach';
import { command } from './command';
import { CONTAINER_FLAGS, containerOptions } from './container-flags';
import type { Flag } from './flags';
import { claimCidfile } from './run-files';

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
  flags: [...CONTAINER_FLAGS, DETACH_FLAG],
  async run(args, global): Promise<number> {
    const [image, ...cmd] = args._;
    if (!image) throw new BerthError('INVALID_ARGUMENT', `"berth run" requires at least 1 argument; usage: berth ${run.usage}`);
    const { tty, interactive } = args;
    if (tty && interactive && !process.stdin.isTTY) {
      throw new BerthError('INVALID_ARGUMENT', 'the input device is not a TTY; drop -t or run berth from a terminal');
    }
    const berth = new Berth(global);
    const options = containerOptions(args, image, cmd, global);
    // before the image is looked for: a bad flag must not cost a pull
    checkContainerOptions(options, 'berth run', false);
    if (args.detach && (interactive || tty))
      throw new BerthError(
        'INVALID_ARGUMENT',
        'Conflicting options: -d with -i or -t; attaching to detached containers is not supported yet (use berth exec -it)',
      );
    if (!args.detach && options.restart !== undefined && options.restart !== 'no') {
      throw new BerthError('INVALID_ARGUMENT', 'A restart policy needs a detached container: add -d');
    }
    const cidfile = claimCidfile(args.cidfile);
    let proc;
    try {
      if (args.detach) {
        const info = await berth.runDetached(options);
        cidfile.write(info.config.id);
        process.stdout.write(`${info.config.id}\n`);
        return 0;
      }
      await berth.ensureImage(image, options.pull, options.platform);
      proc = berth.spawn({ ...options, ...foregroundStdio(tty, interactive) });
    } catch (e) {
      cidfile.abandon();
      throw e;
    }
    cidfile.write(proc.id);
    const status = await attachForeground(proc, tty, interactive);
    if (status.oomKilled) {
      process.stderr.write(`berth: container ${proc.name} was killed by the OOM killer: it needed more memory than its --memory limit\n`);
    }
    return status.exitCode;
  },
});

export default run;
