import { BerthError } from '../errors';
import { Berth } from '../index';
import { checkContainerOptions } from '../runtime/option-checks';
import { command } from './command';
import { CONTAINER_FLAGS, containerOptions } from './container-flags';
import { claimCidfile } from './run-files';

/** docker create: the container recorded with run's options, not started; `berth start` runs it
 *  under a shim, as it runs a stopped one. */
const create = command({
  name: 'create',
  operands: 'IMAGE [COMMAND] [ARG...]',
  summary: 'Create a new container from an image without starting it; print its ID.',
  stopAtPositional: true,
  flags: CONTAINER_FLAGS,
  async run(args, global): Promise<number> {
    const [image, ...cmd] = args._;
    if (!image) throw new BerthError('INVALID_ARGUMENT', `"berth create" requires at least 1 argument; usage: berth ${create.usage}`);
    const options = containerOptions(args, image, cmd, global);
    checkContainerOptions(options, 'berth create', false);
    const cidfile = claimCidfile(args.cidfile);
    let id: string;
    try {
      id = (await new Berth(global).create(options)).config.id;
    } catch (e) {
      cidfile.abandon();
      throw e;
    }
    cidfile.write(id);
    process.stdout.write(`${id}\n`);
    return 0;
  },
});

export default create;
