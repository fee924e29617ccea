import { BerthError } from '../errors';
import { Berth } from '../index';
import { quote } from '../util/quote';
import { errorLine, parse, positionals, table, type Args, type Command } from './command';

/** `berth network SUBCOMMAND`: each subcommand parses its own flags. */
const create: Command = {
  usage: 'network create [OPTIONS] NETWORK',
  summary: 'Create a bridge network (CNI bridge, host-local, portmap).',
  help: `      --subnet CIDR     IPv4 subnet like 10.231.1.0/24 (default: the first free /24 of berth's pool)
      --gateway IP      Gateway address (default: the subnet's first address)
      --internal        No gateway, NAT or default route: containers reach only each other
      --bridge NAME     Linux bridge name (default br-<id>; must not exist yet)`,
  spec: { '--subnet': String, '--gateway': String, '--internal': Boolean, '--bridge': String },
  run(args, global) {
    const [name] = positionals(create, args, 1);
    const info = new Berth(global).createNetwork({ name, subnet: args['--subnet'], gateway: args['--gateway'], internal: !!args['--internal'], bridge: args['--bridge'] });
    process.stdout.write(`${info.id}\n`);
    return 0;
  },
};

const ls: Command = {
  usage: 'network ls [OPTIONS]',
  summary: 'List networks.',
  help: `  -q, --quiet    Only display network names
      --no-trunc  Do not truncate network IDs`,
  spec: { '--quiet': Boolean, '-q': '--quiet', '--no-trunc': Boolean },
  run(args, global) {
    positionals(ls, args, 0);
    const list = new Berth(global).listNetworks();
    if (args['--quiet']) {
      process.stdout.write(list.map((n) => `${n.name}\n`).join(''));
      return 0;
    }
    const id = (s: string) => (args['--no-trunc'] ? s : s.slice(0, 12));
    process.stdout.write(table(['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'BRIDGE', 'INTERNAL'], list.map((n) => [id(n.id), n.name, n.driver, n.subnet, n.bridge, String(n.internal)])));
    return 0;
  },
};

const inspect: Command = {
  usage: 'network inspect NETWORK [NETWORK...]',
  summary: 'Show networks as JSON, with their running containers.',
  help: '',
  spec: {},
  run(args, global) {
    const berth = new Berth(global);
    const out = positionals(inspect, args, 1, Infinity).map((n) => berth.inspectNetwork(n));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  },
};

const rm: Command = {
  usage: 'network rm NETWORK [NETWORK...]',
  summary: 'Remove networks (refused while a running container uses one).',
  help: '',
  spec: {},
  run(args, global) {
    const berth = new Berth(global);
    let failed = 0;
    for (const n of positionals(rm, args, 1, Infinity)) {
      try {
        berth.removeNetwork(n);
        process.stdout.write(`${n}\n`);
      } catch (e) {
        failed++;
        process.stderr.write(errorLine(e));
      }
    }
    return failed ? 1 : 0;
  },
};

const connect: Command = {
  usage: 'network connect [OPTIONS] NETWORK CONTAINER',
  summary: 'Connect a container to one more network (at once if it runs, and on every start).',
  help: '      --ip IP    IPv4 address on a user-defined network',
  spec: { '--ip': String },
  run(args, global) {
    const [net, container] = positionals(connect, args, 2);
    new Berth(global).connectNetwork(net, container, { ip: args['--ip'] });
    return 0;
  },
};

const disconnect: Command = {
  usage: 'network disconnect NETWORK CONTAINER',
  summary: 'Disconnect a container from a network it was connected to.',
  help: '',
  spec: {},
  run(args, global) {
    const [net, container] = positionals(disconnect, args, 2);
    new Berth(global).disconnectNetwork(net, container);
    return 0;
  },
};

const SUBCOMMANDS: Record<string, Command> = { create, ls, list: ls, inspect, rm, remove: rm, connect, disconnect };

const network: Command = {
  usage: 'network COMMAND',
  summary: 'Manage networks.',
  help: `Commands:
  create [--subnet CIDR] [--gateway IP] [--internal] [--bridge NAME] NETWORK
  ls                 List networks
  inspect NETWORK    Show a network and its containers as JSON
  rm NETWORK         Remove a network
  connect [--ip IP] NETWORK CONTAINER
                     Connect a container to a network
  disconnect NETWORK CONTAINER
                     Disconnect a container from a network`,
  spec: {},
  stopAtPositional: true,
  run(args: Args, global) {
    const [sub, ...rest] = args._;
    const cmd = sub === undefined ? undefined : SUBCOMMANDS[sub];
    if (!cmd) {
      throw new BerthError('INVALID_ARGUMENT', `${sub === undefined ? '"berth network" requires a command' : `berth network: ${quote(sub)} is not a network command`}; use create, ls, inspect, rm, connect or disconnect`);
    }
    const subArgs = parse(cmd, rest);
    if (subArgs['--help']) {
      process.stdout.write(`Usage: berth ${cmd.usage}\n\n${cmd.summary}\n\nOptions:\n${cmd.help}\n`);
      return 0;
    }
    return cmd.run(subArgs, global);
  },
};

export default network;
