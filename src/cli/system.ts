import { Berth } from '../index';
import { command, positionals, type Subcommands } from './command';
import { commandGroup } from './group';
import { invalid } from '../errors';
import { writeStderr } from './write';

export const service = command({
  name: 'system service',
  operands: '[URI]',
  summary: 'Serve the Docker Engine API (docker CLI, compose, dockerode, testcontainers) on a unix socket or loopback TCP.',
  notes:
    'URI is unix:///PATH (default unix:///run/berth/docker.sock, mode 0600) or tcp://127.0.0.1:PORT (loopback only).\nPoint clients at it with DOCKER_HOST=URI. Containers keep running under their shims when the service stops.',
  flags: [
    {
      name: '--time',
      short: 't',
      kind: 'string',
      value: 'SECONDS',
      help: 'Stop after this many seconds without a request (0: never, the default)',
    },
    { name: '--log-level', kind: 'string', value: 'LEVEL', help: 'debug: one line per request on stderr; info (default), warn, error' },
  ],
  async run(args, global): Promise<number> {
    const [uri] = positionals(service, args, 0, 1);
    const time = args.time === undefined ? 0 : Number(args.time);
    if (!/^\d+$/.test(args.time ?? '0')) throw invalid('--time', 'a whole number of seconds', args.time);
    const level = args.logLevel ?? 'info';
    if (!['debug', 'info', 'warn', 'error'].includes(level)) throw invalid('--log-level', 'debug, info, warn or error', level);
    const { startService } = await import('../api/server');
    const berth = new Berth({ ...global, detachedCleanup: false });
    const s = await startService(berth, {
      ...(uri !== undefined ? { uri } : {}),
      idleSeconds: time,
      ...(level === 'debug' ? { log: (line: string) => writeStderr(`${line}\n`) } : {}),
    });
    if (level === 'debug' || level === 'info') writeStderr(`berth: serving the Docker Engine API on ${s.uri}\n`);
    const stop = () => void s.close();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    await s.closed;
    return 0;
  },
});

const SUBCOMMANDS: Subcommands = {
  service: async () => service,
  info: async () => (await import('./system-info')).default,
  df: async () => (await import('./system-df')).default,
  prune: async () => (await import('./system-prune')).default,
  events: async () => (await import('./events')).default,
};

export const system = commandGroup('system', 'Manage berth (service, info, df, prune, events)', SUBCOMMANDS);
