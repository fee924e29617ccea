import { Berth } from '../index';
import { command, errorLine, positionals, table } from './command';
import { commandGroup } from './group';
import { NETWORK_HEADER, NetworkContext } from './format/contexts';
import { formatList } from './format/formatter';

/** `berth network SUBCOMMAND`: each subcommand parses its own flags. */
const create = command({
  name: 'network create',
  operands: 'NETWORK',
  summary: "Create a bridge network (berth's native driver, or the CNI plugins with --driver cni).",
  flags: [
    {
      name: '--subnet',
      kind: 'string',
      value: 'CIDR',
      help: "Subnet in CIDR format, like 10.231.1.0/24 (default: the first free /24 of berth's pool)",
    },
    { name: '--gateway', kind: 'string', value: 'IP', help: "IPv4 gateway for the subnet (default: the subnet's first address)" },
    { name: '--internal', kind: 'boolean', help: 'Restrict external access to the network: no gateway, NAT or default route' },
    { name: '--bridge', kind: 'string', value: 'NAME', help: 'Linux bridge name (default br-<id>; must not exist yet)' },
    {
      name: '--driver',
      short: 'd',
      kind: 'string',
      value: 'DRIVER',
      help: "bridge (default: berth's own, netlink and iptables chains) or cni (the CNI plugins bridge, host-local, portmap)",
    },
  ],
  run(args, global): number {
    const [name] = positionals(create, args, 1);
    const info = new Berth(global).createNetwork({
      name,
      subnet: args.subnet,
      gateway: args.gateway,
      internal: args.internal,
      bridge: args.bridge,
      driver: args.driver as 'bridge' | 'cni' | undefined,
    });
    process.stdout.write(`${info.id}\n`);
    return 0;
  },
});

const ls = command({
  name: 'network ls',
  summary: 'List networks.',
  flags: [
    { name: '--quiet', short: 'q', kind: 'boolean', help: 'Only display network names' },
    { name: '--no-trunc', kind: 'boolean', help: 'Do not truncate the network IDs' },
    {
      name: '--format',
      kind: 'string',
      value: 'FORMAT',
      help: 'Format output: table, json, \'table TEMPLATE\' or a Go template: {{.ID}} {{.Name}} {{.Driver}} {{.Scope}} {{.IPv6}} {{.Internal}} {{.Labels}} {{.Label "KEY"}} {{.CreatedAt}}',
    },
  ],
  run(args, global): number {
    positionals(ls, args, 0);
    const list = new Berth(global).listNetworks();
    if (args.format !== undefined && args.format !== '' && !args.quiet) {
      const table = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
      const rows = list.map((n) => new NetworkContext(n, !args.noTrunc));
      process.stdout.write(formatList({ format: args.format, header: NETWORK_HEADER, defaultTable: table, command: 'network ls' }, rows));
      return 0;
    }
    if (args.quiet) {
      process.stdout.write(list.map((n) => `${n.name}\n`).join(''));
      return 0;
    }
    const id = (s: string) => (args.noTrunc ? s : s.slice(0, 12));
    process.stdout.write(
      table(
        ['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'BRIDGE', 'INTERNAL'],
        list.map((n) => [id(n.id), n.name, n.driver, n.subnet, n.bridge, String(n.internal)]),
      ),
    );
    return 0;
  },
});

const inspect = command({
  name: 'network inspect',
  operands: 'NETWORK [NETWORK...]',
  summary: 'Show networks as JSON, with their running containers.',
  flags: [],
  run(args, global): number {
    const berth = new Berth(global);
    const out = positionals(inspect, args, 1, Infinity).map((n) => berth.inspectNetwork(n));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  },
});

const rm = command({
  name: 'network rm',
  operands: 'NETWORK [NETWORK...]',
  summary: 'Remove networks (refused while a running container uses one).',
  flags: [],
  run(args, global): number {
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
});

const connect = command({
  name: 'network connect',
  operands: 'NETWORK CONTAINER',
  summary: 'Connect a container to one more network (at once if it runs, and on every start).',
  flags: [{ name: '--ip', kind: 'string', value: 'IP', help: 'IPv4 address on a user-defined network (e.g., 172.30.100.104)' }],
  run(args, global): number {
    const [net, container] = positionals(connect, args, 2);
    new Berth(global).connectNetwork(net, container, { ip: args.ip });
    return 0;
  },
});

const disconnect = command({
  name: 'network disconnect',
  operands: 'NETWORK CONTAINER',
  summary: 'Disconnect a container from a network it was connected to.',
  flags: [],
  run(args, global): number {
    const [net, container] = positionals(disconnect, args, 2);
    new Berth(global).disconnectNetwork(net, container);
    return 0;
  },
});

const network = commandGroup('network', 'Manage networks.', {
  create: async () => create,
  ls: async () => ls,
  list: async () => ls,
  inspect: async () => inspect,
  rm: async () => rm,
  remove: async () => rm,
  connect: async () => connect,
  disconnect: async () => disconnect,
});

export default network;
