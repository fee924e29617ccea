/** /_ping, /version, /info, /events, /system/df, /auth: what clients ask first (docker's version
 *  negotiation reads the Api-Version header of /_ping) and the host's description. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { detectCgroups } from '../../runtime/cgroups';
import { isRunning } from '../../runtime/container-predicates';
import { filtersQuery, jsonBody, sendJson, type Ctx } from '../http/context';
import { badRequest } from '../http/errors';
import { API_VERSION, MIN_API_VERSION, route } from '../http/router';
import type { DockerEvent } from '../events';
import { parseTimeQuery } from './time-query';

const VERSION: string = (require('../../../package.json') as { version: string }).version;

/** Go's GOARCH names, which docker's clients compare with their own. */
export function goArch(arch = process.arch): string {
  return (
    ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[arch] ?? arch
  );
}

function ping(ctx: Ctx): void {
  ctx.res.writeHead(200, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    'Builder-Version': '1',
    'Docker-Experimental': 'false',
    Ostype: 'linux',
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
}

export function versionBody(): Record<string, unknown> {
  const details = { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: goArch(), KernelVersion: os.release() };
  return {
    Platform: { Name: 'berth' },
    Components: [{ Name: 'Engine', Version: VERSION, Details: { ...details, GitCommit: '', GoVersion: process.version } }],
    Version: VERSION,
    ...details,
    GitCommit: '',
    GoVersion: process.version,
    BuildTime: '',
  };
}

function cgroupVersion(): string {
  try {
    return String(detectCgroups().version);
  } catch {
    return '';
  }
}

function info(ctx: Ctx): void {
  const containers = ctx.berth.ps({ all: true });
  const running = containers.filter((c) => isRunning(c.state)).length;
  const osRelease = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? 'Linux';
  sendJson(ctx, 200, {
    ID: '',
    Containers: containers.length,
    ContainersRunning: running,
    ContainersPaused: 0,
    ContainersStopped: containers.length - running,
    Images: ctx.berth.listImages().length,
    Driver: 'overlay2',
    DriverStatus: [['Backing Filesystem', 'extfs']],
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none', 'cni'], Authorization: null, Log: ['json-file', 'none'] },
    MemoryLimit: true,
    SwapLimit: true,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    OomKillDisable: true,
    IPv4Forwarding: true,
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: cgroupVersion(),
    NEventsListener: 0,
    KernelVersion: os.release(),
    OperatingSystem: pretty,
    OSVersion: /^VERSION_ID="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? '',
    OSType: 'linux',
    Architecture: os.machine(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { AllowNondistributableArtifactsCIDRs: [], InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: {}, Mirrors: [] },
    NCPU: os.cpus().length,
    MemTotal: os.totalmem(),
    DockerRootDir: ctx.berth.root,
    HttpProxy: '',
    HttpsProxy: '',
    NoProxy: '',
    Name: os.hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: VERSION,
    Runtimes: { berth: { path: 'berth' } },
    DefaultRuntime: 'berth',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: 'berth-init',
    SecurityOptions: ['name=seccomp,profile=builtin'],
    Warnings: [],
  });
}

/** Whether an event passes docker's event filters (type, event/action, container, image, label...). */
function eventMatches(e: DockerEvent, filters: Record<string, string[]>): boolean {
  const attrs = e.Actor.Attributes;
  const any = (key: string, test: (v: string) => boolean) => !filters[key]?.length || filters[key].some(test);
  return (
    any('type', (v) => v === e.Type) &&
    any('event', (v) => v === e.Action || e.Action.startsWith(`${v}:`)) &&
    any('container', (v) => e.Type === 'container' && (e.Actor.ID.startsWith(v) || attrs.name === v)) &&
    any('image', (v) => attrs.image === v || (e.Type === 'image' && e.Actor.ID === v)) &&
    any('network', (v) => e.Type === 'network' && (e.Actor.ID === v || attrs.name === v)) &&
    any('volume', (v) => e.Type === 'volume' && e.Actor.ID === v) &&
    any('label', (v) => {
      const eq = v.indexOf('=');
      return eq < 0 ? v in attrs : attrs[v.slice(0, eq)] === v.slice(eq + 1);
    })
  );
}

/** Streams events as JSON lines: the kept ones since `since`, then live ones until `until` or the
 *  client leaves. */
async function events(ctx: Ctx): Promise<void> {
  const filters = filtersQuery(ctx);
  const now = Date.now() / 1000;
  const since = parseTimeQuery(ctx.query.get('since'), now);
  const until = parseTimeQuery(ctx.query.get('until'), now);
  ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
  ctx.res.flushHeaders();
  const write = (e: DockerEvent) => {
    if (eventMatches(e, filters)) ctx.res.write(`${JSON.stringify(e)}\n`);
  };
  if (since !== undefined) for (const e of ctx.events.history(since, until ?? Infinity)) write(e);
  if (until !== undefined && until <= now) {
    ctx.res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const unsubscribe = ctx.events.subscribe(write);
    const end = () => {
      clearTimeout(timer);
      unsubscribe();
      unregister();
      resolve();
    };
    const timer = until === undefined ? undefined : setTimeout(() => (ctx.res.end(), end()), (until - now) * 1000);
    const unregister = ctx.state.onClose(() => ctx.res.end());
    ctx.res.on('close', end);
  });
}

async function auth(ctx: Ctx): Promise<void> {
  const body = await jsonBody<{ username?: string; password?: string; serveraddress?: string; identitytoken?: string }>(ctx);
  if (!body.serveraddress) throw badRequest('serveraddress is required: the registry to log in to');
  if (!body.username || (!body.password && !body.identitytoken)) throw badRequest('username and password are required');
  const registry = body.serveraddress.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  const insecure = /^(localhost|127\.|\[::1\])/.test(registry) ? [registry] : [];
  const status = await ctx.berth.login(
    registry,
    { username: body.username, password: body.password ?? body.identitytoken ?? '' },
    { insecureRegistries: insecure },
  );
  sendJson(ctx, 200, { Status: status || 'Login Succeeded', IdentityToken: '' });
}

export const SYSTEM_ROUTES = [
  route('GET', '/_ping', ping),
  route('HEAD', '/_ping', ping),
  route('GET', '/version', (ctx) => sendJson(ctx, 200, versionBody())),
  route('GET', '/info', info),
  route('GET', '/events', events),
  route('POST', '/auth', auth),
];
