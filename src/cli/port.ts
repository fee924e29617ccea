import { BerthError } from '../errors';
import { quote } from '../util/quote';
import { Berth } from '../index';
import { formatPort } from '../network/ports';
import { command, positionals } from './command';

const port = command({
  name: 'port',
  operands: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  summary: 'List the published ports of a running container, or the host address of one of them.',
  flags: [],
  run(args, global): number {
    const [ref, filter] = positionals(port, args, 1, 2);
    let ports = new Berth(global).port(ref);
    if (filter !== undefined) {
      const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(filter);
      if (!m) throw new BerthError('INVALID_ARGUMENT', `Expected PRIVATE_PORT[/tcp|udp] but received ${quote(filter)}`);
      ports = ports.filter((p) => p.containerPort === Number(m[1]) && p.protocol === (m[2] ?? 'tcp'));
      if (ports.length === 0) throw new BerthError('INVALID_ARGUMENT', `No public port ${quote(filter)} published for ${ref}`);
      process.stdout.write(ports.map((p) => `${p.hostIP || '0.0.0.0'}:${p.hostPort}\n`).join(''));
      return 0;
    }
    process.stdout.write(ports.map((p) => `${formatPort(p)}\n`).join(''));
    return 0;
  },
});

export default port;
