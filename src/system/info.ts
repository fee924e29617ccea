/**
 * `docker info` and `docker version` as berth answers them, for the CLI (`berth system info`,
 * `berth version`) and the Engine API service (/info, /version) alike: one description of the host.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { Berth } from '../index';
import { detectCgroups } from '../runtime/cgroups';
import { isRunning } from '../runtime/container-predicates';
import { API_VERSION, MIN_API_VERSION } from '../api/http/router';

export const BERTH_VERSION: string = (require('../../package.json') as { version: string }).version;

/** Go's GOARCH names, which docker's clients compare with their own. */
export function goArch(arch = process.arch): string {
  return (
    ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[arch] ?? arch
  );
}

/** docker's /version body (the server's half of `docker version`). */
export function versionInfo(apiVersion = API_VERSION, minApiVersion = MIN_API_VERSION): Record<string, unknown> {
  const details = { ApiVersion: apiVersion, MinAPIVersion: minApiVersion, Os: 'linux', Arch: goArch(), KernelVersion: os.release() };
  return {
    Platform: { Name: 'berth' },
    Components: [{ Name: 'Engine', Version: BERTH_VERSION, Details: { ...details, GitCommit: '', GoVersion: process.version } }],
    Version: BERTH_VERSION,
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

function osRelease(): { pretty: string; version: string } {
  const text = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
  return {
    pretty: /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text)?.[1] ?? 'Linux',
    version: /^VERSION_ID="?([^"\n]*)"?$/m.exec(text)?.[1] ?? '',
  };
}

/** docker's /info body: counts of this root's containers and images and the host's description. */
export function systemInfo(berth: Berth): Record<string, unknown> {
  const containers = berth.ps({ all: true });
  const running = containers.filter((c) => isRunning(c.state)).length;
  const paused = containers.filter((c) => (c.state.status as string) === 'paused').length;
  const release = osRelease();
  return {
    ID: '',
    Containers: containers.length,
    ContainersRunning: running,
    ContainersPaused: paused,
    ContainersStopped: containers.length - running - paused,
    Images: berth.listImages().length,
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
    OperatingSystem: release.pretty,
    OSVersion: release.version,
    OSType: 'linux',
    Architecture: os.machine(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { AllowNondistributableArtifactsCIDRs: [], InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: {}, Mirrors: [] },
    NCPU: os.cpus().length,
    MemTotal: os.totalmem(),
    DockerRootDir: berth.root,
    HttpProxy: '',
    HttpsProxy: '',
    NoProxy: '',
    Name: os.hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: BERTH_VERSION,
    Runtimes: { berth: { path: 'berth' } },
    DefaultRuntime: 'berth',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: 'berth-init',
    SecurityOptions: ['name=seccomp,profile=builtin'],
    Warnings: [],
  };
}
