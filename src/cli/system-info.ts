import { Berth } from '../index';
import { invalid } from '../errors';
import { command, positionals } from './command';
import { writeStdout } from './write';
import { BERTH_VERSION } from '../system/info';

/** Bytes as docker info's Total Memory shows them (binary units: 3.821GiB). */
export function binarySize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : Number(v.toFixed(3))}${units[u]}`;
}

/** docker info's text: the client, then the server's counts and host description. */
export function infoText(i: Record<string, unknown>): string {
  const s = (k: string) => String(i[k] ?? '');
  const plugins = (i.Plugins ?? {}) as Record<string, string[] | null>;
  const registries = ((i.RegistryConfig as { InsecureRegistryCIDRs?: string[] } | undefined)?.InsecureRegistryCIDRs ?? []).map(
    (r) => `  ${r}`,
  );
  const driverStatus = ((i.DriverStatus ?? []) as string[][]).map(([k, v]) => `  ${k}: ${v}`);
  const lines = [
    'Client:',
    ` Version:    ${BERTH_VERSION}`,
    ' Context:    default',
    ' Debug Mode: false',
    '',
    'Server:',
    ` Containers: ${s('Containers')}`,
    `  Running: ${s('ContainersRunning')}`,
    `  Paused: ${s('ContainersPaused')}`,
    `  Stopped: ${s('ContainersStopped')}`,
    ` Images: ${s('Images')}`,
    ` Server Version: ${s('ServerVersion')}`,
    ` Storage Driver: ${s('Driver')}`,
    ...driverStatus,
    ` Logging Driver: ${s('LoggingDriver')}`,
    ` Cgroup Driver: ${s('CgroupDriver')}`,
    ` Cgroup Version: ${s('CgroupVersion')}`,
    ' Plugins:',
    `  Volume: ${(plugins.Volume ?? []).join(' ')}`,
    `  Network: ${(plugins.Network ?? []).join(' ')}`,
    `  Log: ${(plugins.Log ?? []).join(' ')}`,
    ` Runtimes: ${Object.keys((i.Runtimes ?? {}) as object).join(' ')}`,
    ` Default Runtime: ${s('DefaultRuntime')}`,
    ` Init Binary: ${s('InitBinary')}`,
    ' Security Options:',
    '  seccomp',
    '   Profile: builtin',
    ` Kernel Version: ${s('KernelVersion')}`,
    ` Operating System: ${s('OperatingSystem')}`,
    ` OSType: ${s('OSType')}`,
    ` Architecture: ${s('Architecture')}`,
    ` CPUs: ${s('NCPU')}`,
    ` Total Memory: ${binarySize(Number(i.MemTotal ?? 0))}`,
    ` Name: ${s('Name')}`,
    ` ID: ${s('ID')}`,
    ` Docker Root Dir: ${s('DockerRootDir')}`,
    ' Debug Mode: false',
    ' Experimental: false',
    ' Insecure Registries:',
    ...registries,
    ` Live Restore Enabled: ${s('LiveRestoreEnabled')}`,
  ];
  return `${lines.join('\n')}\n`;
}

const info = command({
  name: 'system info',
  summary: 'Display system-wide information: containers, images, storage, cgroups, the host.',
  flags: [{ name: '--format', short: 'f', kind: 'string', value: 'FORMAT', help: "json: the Engine API's /info object" }],
  run(args, global): number {
    positionals(info, args, 0);
    if (args.format !== undefined && args.format !== 'json' && args.format !== '{{json .}}') throw invalid('--format', 'json', args.format);
    const body = new Berth(global).info();
    writeStdout(args.format !== undefined ? `${JSON.stringify(body)}\n` : infoText(body));
    return 0;
  },
});

export default info;
