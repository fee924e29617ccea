/**
 * POST /containers/create's body (docker's Config, HostConfig and NetworkingConfig) as berth's
 * ContainerOptions: the same options `berth run` fills from docker's flags, so that an API create
 * and a CLI create go through one validation and one translation into the OCI config. Docker's
 * clients send every field, most at their zero value: a zero value means "not given". A field
 * berth cannot honour is refused with its name, never dropped.
 */
import type { ContainerOptions } from '../../runtime/options';
import { badRequest } from '../http/errors';

type Obj = Record<string, unknown>;

export interface CreateRequest {
  options: ContainerOptions;
  /** What the attach of a later start needs: docker's StdinOnce, the initial console size. */
  stdinOnce: boolean;
  consoleSize?: [number, number];
  /** Networks beyond the primary one (EndpointsConfig of API 1.44), connected after create. */
  moreNetworks: Array<{ name: string; ip?: string }>;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function field<T>(o: Obj, key: string, type: 'string' | 'number' | 'boolean' | 'array' | 'object'): T | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const ok = type === 'array' ? Array.isArray(v) : type === 'object' ? isObj(v) : typeof v === type;
  if (!ok) throw badRequest(`invalid value for ${key}: expected ${type === 'array' ? 'an array' : `a ${type}`}, got ${JSON.stringify(v)}`);
  return v as T;
}

const str = (o: Obj, k: string) => field<string>(o, k, 'string') || undefined;
const num = (o: Obj, k: string) => field<number>(o, k, 'number') || undefined;
const bool = (o: Obj, k: string) => field<boolean>(o, k, 'boolean') || undefined;
const strs = (o: Obj, k: string) => {
  const a = field<unknown[]>(o, k, 'array');
  if (a && !a.every((x) => typeof x === 'string')) throw badRequest(`invalid value for ${k}: expected an array of strings`);
  return a && a.length ? (a as string[]) : undefined;
};
/** docker's strslice: a string or an array of strings. */
const strslice = (o: Obj, k: string): string[] | undefined => {
  const v = o[k];
  if (typeof v === 'string') return [v];
  return field<unknown[]>(o, k, 'array') && (strs(o, k) ?? []);
};

/** PortBindings {"80/tcp": [{HostIp, HostPort}]} as -p values. berth networks are IPv4: a binding
 *  on "::" beside an IPv4 one of the same port is docker's dual-stack pair, kept once. */
function publishFlags(bindings: Obj): string[] {
  const out: string[] = [];
  for (const [port, list] of Object.entries(bindings)) {
    const entries = Array.isArray(list) && list.length ? (list as Obj[]) : [{}];
    const v4 = entries.filter((b) => !String(b.HostIp ?? '').includes(':'));
    for (const b of v4.length ? v4 : entries.map((b): Obj => ({ ...b, HostIp: '' }))) {
      const ip = String(b.HostIp ?? '');
      // "0" is docker's "any free port" as much as ""
      const hostPort = String(b.HostPort ?? '') === '0' ? '' : String(b.HostPort ?? '');
      out.push(ip ? `${ip}:${hostPort}:${port}` : hostPort ? `${hostPort}:${port}` : port);
    }
  }
  return out;
}

const csvField = (s: string) => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** HostConfig.Mounts as --mount values. */
function mountFlags(mounts: unknown[]): string[] {
  return mounts.map((m, i) => {
    if (!isObj(m)) throw badRequest(`invalid value for HostConfig.Mounts[${i}]: expected an object`);
    const parts = [`type=${String(m.Type ?? 'volume')}`];
    if (m.Source) parts.push(`source=${String(m.Source)}`);
    if (m.Target) parts.push(`target=${String(m.Target)}`);
    if (m.ReadOnly) parts.push('readonly');
    const bind = isObj(m.BindOptions) ? m.BindOptions : {};
    if (bind.Propagation) parts.push(`bind-propagation=${String(bind.Propagation)}`);
    if (bind.NonRecursive) parts.push('bind-nonrecursive');
    const vol = isObj(m.VolumeOptions) ? m.VolumeOptions : {};
    if (vol.NoCopy) parts.push('volume-nocopy');
    for (const [k, v] of Object.entries(isObj(vol.Labels) ? vol.Labels : {})) parts.push(`volume-label=${k}=${String(v)}`);
    const tmpfs = isObj(m.TmpfsOptions) ? m.TmpfsOptions : {};
    if (tmpfs.SizeBytes) parts.push(`tmpfs-size=${String(tmpfs.SizeBytes)}`);
    if (tmpfs.Mode) parts.push(`tmpfs-mode=${Number(tmpfs.Mode).toString(8)}`);
    return parts.map(csvField).join(',');
  });
}

/** Fields of docker's that berth has no equivalent for: refused when set to anything but zero. */
const REFUSED_HOST_FIELDS = [
  'CpuRealtimePeriod',
  'CpuRealtimeRuntime',
  'CpuCount',
  'CpuPercent',
  'IOMaximumIOps',
  'IOMaximumBandwidth',
  'VolumeDriver',
];

function rateFlags(list: unknown, key: 'Rate' | 'Weight'): string[] | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return (list as Obj[]).map((d) => `${String(d.Path)}:${String(d[key])}`);
}

export function parseCreateBody(body: unknown, name: string | undefined): CreateRequest {
  if (!isObj(body)) throw badRequest('invalid JSON in the request body: expected an object');
  const config = body;
  const host = isObj(body.HostConfig) ? body.HostConfig : {};
  const image = str(config, 'Image');
  if (!image) throw badRequest('config: an Image is required');
  for (const k of REFUSED_HOST_FIELDS) {
    const v = host[k];
    if (v !== undefined && v !== null && v !== 0 && v !== '' && v !== 'local')
      throw badRequest(`HostConfig.${k} is not supported by berth; leave it unset`);
  }
  const o: ContainerOptions = { image, pull: 'never' };
  const set = <K extends keyof ContainerOptions>(k: K, v: ContainerOptions[K] | undefined) => {
    if (v !== undefined) o[k] = v;
  };
  set('name', name || undefined);
  set('hostname', str(config, 'Hostname'));
  set('domainname', str(config, 'Domainname'));
  set('user', str(config, 'User'));
  set('tty', bool(config, 'Tty'));
  set('interactive', bool(config, 'OpenStdin'));
  set('env', strs(config, 'Env'));
  const cmd = strslice(config, 'Cmd');
  if (cmd && cmd.length) o.cmd = cmd;
  const entrypoint = strslice(config, 'Entrypoint');
  // [] and [""] both reset the image's entrypoint, as `--entrypoint ""` does
  if (entrypoint) o.entrypoint = entrypoint.length === 0 || (entrypoint.length === 1 && entrypoint[0] === '') ? '' : entrypoint;
  set('workdir', str(config, 'WorkingDir'));
  const exposed = field<Obj>(config, 'ExposedPorts', 'object');
  if (exposed && Object.keys(exposed).length) o.expose = Object.keys(exposed);
  const volumes = field<Obj>(config, 'Volumes', 'object');
  const labels = field<Obj>(config, 'Labels', 'object');
  if (labels && Object.keys(labels).length) o.labels = Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));
  set('stopSignal', str(config, 'StopSignal'));
  if (typeof config.StopTimeout === 'number') o.stopTimeout = config.StopTimeout;
  set('mac', str(config, 'MacAddress'));
  const health = field<Obj>(config, 'Healthcheck', 'object');
  if (health) {
    const test = strs(health, 'Test');
    if (test?.[0] === 'NONE') o.noHealthcheck = true;
    else {
      set('healthTest', test);
      set('healthInterval', num(health, 'Interval'));
      set('healthTimeout', num(health, 'Timeout'));
      set('healthStartPeriod', num(health, 'StartPeriod'));
      set('healthStartInterval', num(health, 'StartInterval'));
      set('healthRetries', num(health, 'Retries'));
    }
  }

  // HostConfig
  const binds = strs(host, 'Binds') ?? [];
  const anonymous = Object.keys(volumes ?? {}).filter((p) => !binds.some((b) => b.split(':')[1] === p));
  if (binds.length || anonymous.length) o.volumes = [...binds, ...anonymous];
  const mounts = field<unknown[]>(host, 'Mounts', 'array');
  if (mounts?.length) o.mounts = mountFlags(mounts);
  set('volumesFrom', strs(host, 'VolumesFrom'));
  const mode = str(host, 'NetworkMode');
  if (config.NetworkDisabled === true) o.network = 'none';
  else if (mode && mode !== 'default') o.network = mode;
  const portBindings = field<Obj>(host, 'PortBindings', 'object');
  if (portBindings && Object.keys(portBindings).length) o.publish = publishFlags(portBindings);
  set('publishAll', bool(host, 'PublishAllPorts'));
  const restart = field<Obj>(host, 'RestartPolicy', 'object');
  if (restart && restart.Name && restart.Name !== 'no') {
    const retries = Number(restart.MaximumRetryCount ?? 0);
    o.restart = restart.Name === 'on-failure' && retries > 0 ? `on-failure:${retries}` : String(restart.Name);
  }
  set('rm', bool(host, 'AutoRemove'));
  set('capAdd', strs(host, 'CapAdd'));
  set('capDrop', strs(host, 'CapDrop'));
  set('cgroupns', str(host, 'CgroupnsMode'));
  set('dns', strs(host, 'Dns'));
  set('dnsOptions', strs(host, 'DnsOptions'));
  set('dnsSearch', strs(host, 'DnsSearch'));
  set('addHosts', strs(host, 'ExtraHosts'));
  set('groupAdd', strs(host, 'GroupAdd'));
  const ipc = str(host, 'IpcMode');
  if (ipc && ipc !== 'private') o.ipc = ipc;
  set(
    'links',
    strs(host, 'Links')?.map((l) => l.replace(/^\//, '').replace(/:\/.*\//, ':')),
  );
  set('oomScoreAdj', num(host, 'OomScoreAdj'));
  set('pid', str(host, 'PidMode'));
  set('privileged', bool(host, 'Privileged'));
  set('readOnly', bool(host, 'ReadonlyRootfs'));
  set('securityOpt', strs(host, 'SecurityOpt'));
  const storageOpt = field<Obj>(host, 'StorageOpt', 'object');
  if (storageOpt && Object.keys(storageOpt).length) o.storageOpt = Object.entries(storageOpt).map(([k, v]) => `${k}=${String(v)}`);
  const tmpfs = field<Obj>(host, 'Tmpfs', 'object');
  if (tmpfs && Object.keys(tmpfs).length) o.tmpfs = Object.entries(tmpfs).map(([p, opts]) => (opts ? `${p}:${String(opts)}` : p));
  set('uts', str(host, 'UTSMode'));
  set('userns', str(host, 'UsernsMode'));
  set('shmSize', num(host, 'ShmSize'));
  const sysctls = field<Obj>(host, 'Sysctls', 'object');
  if (sysctls && Object.keys(sysctls).length) o.sysctls = Object.fromEntries(Object.entries(sysctls).map(([k, v]) => [k, String(v)]));
  const runtime = str(host, 'Runtime');
  if (runtime && runtime !== 'runc') o.runtime = runtime;
  set('cpuShares', num(host, 'CpuShares'));
  set('memory', num(host, 'Memory'));
  const nano = num(host, 'NanoCpus');
  if (nano) o.cpus = nano / 1e9;
  set('cgroupParent', str(host, 'CgroupParent'));
  set('blkioWeight', num(host, 'BlkioWeight'));
  set('blkioWeightDevice', rateFlags(host.BlkioWeightDevice, 'Weight'));
  set('deviceReadBps', rateFlags(host.BlkioDeviceReadBps, 'Rate'));
  set('deviceWriteBps', rateFlags(host.BlkioDeviceWriteBps, 'Rate'));
  set('deviceReadIops', rateFlags(host.BlkioDeviceReadIOps, 'Rate'));
  set('deviceWriteIops', rateFlags(host.BlkioDeviceWriteIOps, 'Rate'));
  set('cpuPeriod', num(host, 'CpuPeriod'));
  set('cpuQuota', num(host, 'CpuQuota'));
  set('cpusetCpus', str(host, 'CpusetCpus'));
  set('cpusetMems', str(host, 'CpusetMems'));
  const devices = field<Obj[]>(host, 'Devices', 'array');
  if (devices?.length)
    o.devices = devices.map((d) => [d.PathOnHost, d.PathInContainer || d.PathOnHost, d.CgroupPermissions || 'rwm'].map(String).join(':'));
  set('deviceCgroupRules', strs(host, 'DeviceCgroupRules'));
  set('memoryReservation', num(host, 'MemoryReservation'));
  set('memorySwap', num(host, 'MemorySwap'));
  const swappiness = field<number>(host, 'MemorySwappiness', 'number');
  if (swappiness !== undefined && swappiness >= 0) o.memorySwappiness = swappiness;
  set('oomKillDisable', bool(host, 'OomKillDisable'));
  const pids = field<number>(host, 'PidsLimit', 'number');
  if (pids !== undefined && pids > 0) o.pidsLimit = pids;
  const ulimits = field<Obj[]>(host, 'Ulimits', 'array');
  if (ulimits?.length) o.ulimits = ulimits.map((u) => `${String(u.Name)}=${String(u.Soft)}:${String(u.Hard)}`);
  set('init', bool(host, 'Init'));
  const log = field<Obj>(host, 'LogConfig', 'object');
  if (log) {
    set('logDriver', log.Type ? String(log.Type) : undefined);
    const cfg = isObj(log.Config) ? log.Config : {};
    if (Object.keys(cfg).length) o.logOpts = Object.entries(cfg).map(([k, v]) => `${k}=${String(v)}`);
  }

  // NetworkingConfig: the primary network's endpoint settings, and API 1.44's further networks
  const networking = isObj(body.NetworkingConfig) ? body.NetworkingConfig : {};
  const endpoints = isObj(networking.EndpointsConfig) ? networking.EndpointsConfig : {};
  const primary = o.network ?? 'bridge';
  const moreNetworks: CreateRequest['moreNetworks'] = [];
  for (const [net, ep] of Object.entries(endpoints)) {
    const e = isObj(ep) ? ep : {};
    const ipam = isObj(e.IPAMConfig) ? e.IPAMConfig : {};
    const ip = typeof ipam.IPv4Address === 'string' && ipam.IPv4Address ? ipam.IPv4Address : undefined;
    if (net === primary || (primary === 'bridge' && net === 'default') || Object.keys(endpoints).length === 1) {
      if (o.network === undefined && net !== 'bridge' && net !== 'default') o.network = net;
      if (ip) o.ip = ip;
      // compose adds the container's own names as aliases: the hosts file has those anyway
      const aliases = (Array.isArray(e.Aliases) ? (e.Aliases as unknown[]).map(String) : []).filter((a) => a !== name);
      if (aliases.length) o.networkAliases = aliases;
      if (typeof e.MacAddress === 'string' && e.MacAddress) o.mac = e.MacAddress;
    } else moreNetworks.push({ name: net, ...(ip ? { ip } : {}) });
  }
  const size = field<number[]>(host, 'ConsoleSize', 'array');
  return {
    options: o,
    stdinOnce: config.StdinOnce === true,
    ...(size && size[0] > 0 && size[1] > 0 ? { consoleSize: [size[0], size[1]] as [number, number] } : {}),
    moreNetworks,
  };
}
