/**
 * A berth container in docker's JSON: the inspect document (State, Config, HostConfig,
 * NetworkSettings, Mounts) and the entry of /containers/json. Pure: everything is read from the
 * ContainerInfo that Berth.inspect() or Berth.ps() returned.
 */
import { DEFAULT_NETWORK } from '../../network/networks';
import type { EndpointInfo, PortMapping } from '../../network/types';
import { isRunning, hasExited } from '../../runtime/container-predicates';
import type { ContainerInfo, MountInfo } from '../../runtime/types';
import { signalName } from '../../util/signals';
import { statusText } from '../../cli/format/status';

/** docker's network name of berth's default network: clients ask for "bridge". */
export function dockerNetworkName(name: string | undefined): string {
  return name === undefined || name === DEFAULT_NETWORK ? 'bridge' : name;
}

function networkMode(c: ContainerInfo): string {
  const n = c.config.network;
  if (!n || n.mode === 'none') return 'none';
  if (n.mode === 'host') return 'host';
  if (n.mode === 'container') return `container:${n.container}`;
  return dockerNetworkName(n.name);
}

/** The Status word docker uses: created, running, paused, exited (berth has no dead state). */
function dockerState(c: ContainerInfo): string {
  return c.state.paused ? 'paused' : c.state.status;
}

/** docker's ISO time with nanoseconds; "0001-01-01T00:00:00Z" for never. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

function portsMap(ports: PortMapping[], exposed: string[]): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const e of exposed) out[e] = null;
  for (const p of ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    (out[key] ??= []).push({ HostIp: p.hostIP || '0.0.0.0', HostPort: String(p.hostPort) });
  }
  return out;
}

function endpoint(e: EndpointInfo, c: ContainerInfo): Record<string, unknown> {
  const aliases = e.network === c.config.network?.name ? (c.config.networkAliases ?? []) : [];
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: [c.config.id.slice(0, 12), ...aliases],
    MacAddress: e.mac,
    NetworkID: e.network,
    EndpointID: `${c.config.id.slice(0, 32)}${e.network}`.slice(0, 64),
    Gateway: e.gateway ?? '',
    IPAddress: e.ip,
    IPPrefixLen: e.prefixLength,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DriverOpts: null,
    DNSNames: [c.config.name, c.config.id.slice(0, 12), ...aliases],
  };
}

/** The image's exposed ports and --expose, as docker's "80/tcp" keys. */
function exposedKeys(c: ContainerInfo): string[] {
  return [...new Set((c.config.exposedPorts ?? []).map((p) => (p.includes('/') ? p : `${p}/tcp`)))];
}

export function networkSettings(c: ContainerInfo): Record<string, unknown> {
  const running = isRunning(c.state);
  const eps = running ? (c.networks ?? (c.network ? [c.network] : [])) : [];
  const primary = eps[0];
  const networks: Record<string, unknown> = {};
  for (const e of eps) networks[dockerNetworkName(e.network)] = endpoint(e, c);
  const mode = networkMode(c);
  if (eps.length === 0 && mode !== 'none' && !mode.startsWith('container:'))
    networks[mode] = { NetworkID: '', IPAddress: '', Gateway: '', MacAddress: '' };
  const allPorts = eps.flatMap((e) => e.ports);
  return {
    Bridge: '',
    SandboxID: running ? c.config.id : '',
    SandboxKey: running && c.config.network?.mode === 'bridge' ? `/run/netns/berth-${c.config.id.slice(0, 12)}` : '',
    Ports: portsMap(allPorts, exposedKeys(c)),
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: primary ? `${c.config.id.slice(0, 32)}${primary.network}`.slice(0, 64) : '',
    Gateway: primary?.gateway ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: primary?.ip ?? '',
    IPPrefixLen: primary?.prefixLength ?? 0,
    IPv6Gateway: '',
    MacAddress: primary?.mac ?? '',
    Networks: networks,
  };
}

function dockerMounts(mounts: MountInfo[] | undefined): unknown[] {
  return (mounts ?? []).map((m) => ({
    Type: m.Type,
    ...(m.Name !== undefined ? { Name: m.Name } : {}),
    Source: m.Source,
    Destination: m.Destination,
    ...(m.Driver !== undefined ? { Driver: m.Driver } : {}),
    Mode: m.Mode,
    RW: m.RW,
    Propagation: m.Propagation,
  }));
}

function restartPolicy(c: ContainerInfo): { Name: string; MaximumRetryCount: number } {
  const r = c.config.restart;
  return { Name: r?.name ?? 'no', MaximumRetryCount: r?.maxRetries ?? 0 };
}

function hostConfig(c: ContainerInfo): Record<string, unknown> {
  const cfg = c.config;
  const l = cfg.limits;
  const ports: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of cfg.network?.ports ?? []) {
    (ports[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIP, HostPort: p.hostPort ? String(p.hostPort) : '' });
  }
  const binds = cfg.volumes
    .filter((v) => !v.mount && !v.anonymous)
    .map((v) => `${v.volume ?? v.hostPath}:${v.containerPath}${v.readonly ? ':ro' : ''}`);
  const ns = cfg.namespaces ?? {};
  return {
    Binds: binds.length ? binds : null,
    ContainerIDFile: '',
    LogConfig: { Type: cfg.log?.driver ?? 'json-file', Config: {} },
    NetworkMode: networkMode(c),
    PortBindings: ports,
    RestartPolicy: restartPolicy(c),
    AutoRemove: cfg.autoRemove,
    VolumeDriver: '',
    VolumesFrom: null,
    ConsoleSize: [0, 0],
    CapAdd: null,
    CapDrop: null,
    CgroupnsMode: ns.cgroup ?? 'private',
    Dns: cfg.dns ?? [],
    DnsOptions: cfg.dnsOptions ?? [],
    DnsSearch: cfg.dnsSearch ?? [],
    ExtraHosts: cfg.addHosts?.map((h) => `${h.host}:${h.ip}`) ?? null,
    GroupAdd: null,
    IpcMode: ns.ipc ?? 'private',
    Cgroup: '',
    Links: cfg.links?.map((k) => `/${k.name}:/${cfg.name}/${k.alias}`) ?? null,
    OomScoreAdj: cfg.oomScoreAdj ?? 0,
    PidMode: ns.pid ?? '',
    Privileged: !!cfg.privileged,
    PublishAllPorts: false,
    ReadonlyRootfs: !!cfg.readonlyRootfs,
    SecurityOpt: [...(cfg.noNewPrivileges ? ['no-new-privileges'] : []), ...(cfg.seccomp === false ? ['seccomp=unconfined'] : [])],
    Tmpfs: cfg.tmpfs ? Object.fromEntries(cfg.tmpfs.filter((t) => !t.mount).map((t) => [t.containerPath, t.options.join(',')])) : undefined,
    UTSMode: ns.uts ?? '',
    UsernsMode: '',
    ShmSize: cfg.shmSize ?? 64 * 1024 * 1024,
    Sysctls: cfg.sysctls,
    Runtime: 'berth',
    Isolation: '',
    CpuShares: l.cpuShares ?? 0,
    Memory: l.memory ?? 0,
    NanoCpus: l.cpus !== undefined ? Math.round(l.cpus * 1e9) : 0,
    CgroupParent: cfg.cgroupParent ?? '',
    BlkioWeight: l.blockIO?.weight ?? 0,
    CpuPeriod: l.cpuPeriod ?? 0,
    CpuQuota: 0,
    CpusetCpus: l.cpusetCpus ?? '',
    CpusetMems: l.cpusetMems ?? '',
    Devices: (cfg.devices ?? []).map((d) => ({ PathOnHost: d.hostPath, PathInContainer: d.path, CgroupPermissions: d.permissions })),
    DeviceCgroupRules: cfg.deviceCgroupRules ?? null,
    MemoryReservation: l.memoryReservation ?? 0,
    MemorySwap: l.memorySwap ?? 0,
    MemorySwappiness: l.memorySwappiness ?? null,
    OomKillDisable: !!l.disableOOMKiller,
    PidsLimit: l.pidsLimit ?? null,
    Ulimits: (cfg.ulimits ?? []).map((u) => ({ Name: u.type.replace(/^RLIMIT_/, '').toLowerCase(), Soft: u.soft, Hard: u.hard })),
    Init: cfg.init ?? null,
    MaskedPaths: cfg.privileged ? [] : undefined,
  };
}

/** A container's argv as docker's Config.Entrypoint and Config.Cmd. */
function splitArgv(argv: string[], entrypoint: string[] | null | undefined): { entrypoint: string[] | null; cmd: string[] } {
  const e = entrypoint ?? [];
  if (e.length > 0 && e.every((x, i) => argv[i] === x)) return { entrypoint: e, cmd: argv.slice(e.length) };
  return { entrypoint: null, cmd: argv };
}

function containerConfig(
  c: ContainerInfo,
  imageConfig: { Entrypoint?: string[] | null; Cmd?: string[] | null } = {},
): Record<string, unknown> {
  const cfg = c.config;
  const h = cfg.healthcheck;
  return {
    Hostname: cfg.hostname,
    Domainname: cfg.domainname ?? '',
    User: cfg.uid === 0 && cfg.gid === 0 ? '' : `${cfg.uid}:${cfg.gid}`,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ExposedPorts: Object.fromEntries(exposedKeys(c).map((k) => [k, {}])),
    Tty: cfg.tty,
    OpenStdin: cfg.interactive,
    StdinOnce: false,
    Env: cfg.env,
    // argv is entrypoint + cmd: the image's entrypoint when argv starts with it (the usual case)
    Cmd: splitArgv(cfg.argv, imageConfig.Entrypoint).cmd,
    Healthcheck: h
      ? {
          Test: h.test,
          Interval: h.intervalMs * 1e6,
          Timeout: h.timeoutMs * 1e6,
          StartPeriod: h.startPeriodMs * 1e6,
          StartInterval: h.startIntervalMs * 1e6,
          Retries: h.retries,
        }
      : undefined,
    Image: cfg.image,
    Volumes: cfg.volumes.some((v) => v.anonymous)
      ? Object.fromEntries(cfg.volumes.filter((v) => v.anonymous).map((v) => [v.containerPath, {}]))
      : null,
    WorkingDir: cfg.workdir === '/' ? '' : cfg.workdir,
    Entrypoint: splitArgv(cfg.argv, imageConfig.Entrypoint).entrypoint,
    OnBuild: null,
    Labels: cfg.labels ?? {},
    ...(cfg.stopSignal !== undefined ? { StopSignal: signalName(cfg.stopSignal) } : {}),
    ...(cfg.stopTimeout !== undefined ? { StopTimeout: cfg.stopTimeout } : {}),
  };
}

/** GET /containers/{id}/json. */
export function inspectJson(
  c: ContainerInfo,
  imageConfig?: { Entrypoint?: string[] | null; Cmd?: string[] | null },
): Record<string, unknown> {
  const s = c.state;
  const running = isRunning(s);
  const [path, ...args] = c.config.argv;
  return {
    Id: c.config.id,
    Created: c.config.created,
    Path: path ?? '',
    Args: args,
    State: {
      Status: dockerState(c),
      Running: running,
      Paused: !!s.paused,
      Restarting: false,
      OOMKilled: !!s.oomKilled,
      Dead: false,
      Pid: running ? (s.pid ?? 0) : 0,
      ExitCode: hasExited(s) ? (s.exitCode ?? 0) : 0,
      Error: s.error ?? '',
      StartedAt: s.startedAt ?? ZERO_TIME,
      FinishedAt: s.finishedAt ?? ZERO_TIME,
      ...(s.health ? { Health: s.health } : {}),
    },
    Image: c.config.imageId.startsWith('sha256:') ? c.config.imageId : `sha256:${c.config.imageId}`,
    ResolvConfPath: '',
    HostnamePath: '',
    HostsPath: '',
    LogPath: '',
    Name: `/${c.config.name}`,
    RestartCount: s.restartCount ?? 0,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: c.config.apparmorProfile ?? '',
    ExecIDs: null,
    HostConfig: hostConfig(c),
    GraphDriver: { Name: 'overlay2', Data: { LowerDir: c.config.layers.join(':') } },
    Mounts: dockerMounts(c.mounts),
    Config: containerConfig(c, imageConfig),
    NetworkSettings: networkSettings(c),
  };
}

/** One entry of GET /containers/json. */
export function listEntry(c: ContainerInfo): Record<string, unknown> {
  const settings = networkSettings(c);
  const ports = isRunning(c.state) ? (c.networks ?? (c.network ? [c.network] : [])).flatMap((e) => e.ports) : [];
  return {
    Id: c.config.id,
    Names: [`/${c.config.name}`],
    Image: c.config.image,
    ImageID: c.config.imageId.startsWith('sha256:') ? c.config.imageId : `sha256:${c.config.imageId}`,
    Command: c.config.argv.join(' '),
    Created: Math.floor(Date.parse(c.config.created) / 1000),
    Ports: ports.map((p) => ({ IP: p.hostIP || '0.0.0.0', PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol })),
    Labels: c.config.labels ?? {},
    State: dockerState(c),
    Status: statusText(c),
    HostConfig: { NetworkMode: networkMode(c) },
    NetworkSettings: { Networks: settings.Networks },
    Mounts: dockerMounts(c.mounts),
  };
}
