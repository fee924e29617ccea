import { BerthError } from '../errors';
import { Berth } from '../index';
import { command, positionals } from './command';
import { attachedRun, runAttached } from './run-attached';

/** docker attach: this terminal to a running container's stdio, through its shim, until it exits
 *  (its exit code) or the detach keys leave it running (0). */
const attach = command({
  name: 'attach',
  operands: 'CONTAINER',
  summary: 'Attach local standard input, output, and error streams to a running container.',
  flags: [
    {
      name: '--detach-keys',
      kind: 'string',
      value: 'KEYS',
      help: 'Override the key sequence for detaching a container (default "ctrl-p,ctrl-q")',
    },
    { name: '--no-stdin', kind: 'boolean', help: 'Do not attach STDIN' },
    { name: '--sig-proxy', kind: 'boolean', help: 'Proxy all received signals to the process, without a tty (default true)' },
  ],
  async run(args, global): Promise<number> {
    const [ref] = positionals(attach, args, 1);
    const berth = new Berth(global);
    const { config } = berth.runtime.resolve(ref);
    const interactive = config.interactive && !args.noStdin;
    if (interactive && config.tty && !process.stdin.isTTY) {
      throw new BerthError('INVALID_ARGUMENT', 'the input device is not a TTY; use --no-stdin or attach from a terminal');
    }
    const o = attachedRun({ detachKeys: args.detachKeys, interactive, tty: config.tty });
    const conn = await berth.attach(ref);
    // the connection is there already: "start" hands it over as it is
    return runAttached(berth, o, async (a) => {
      a.onAttach(conn);
      return berth.runtime.resolve(ref);
    });
  },
});

export default attach;
