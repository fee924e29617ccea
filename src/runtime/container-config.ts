/**
 * What `create` records: the user's options checked against the image and resolved into a
 * ContainerConfig (command line, user, environment, limits, volumes, network), without touching
 * the disk, so that a refused option leaves nothing behind.
 */
import * as path from 'node:path';
import { BerthError } from '../errors';
import type { ImageStore } from '../image/store/store';
import { parseNetworkOptions } from '../network/options';
import { quote } from '../util/quote';
import { containerCapabilities } from './capabilities';
import { buildEnv, parseLimits, parseLogOpts, parseRestart, parseVolume, resolveUser, type ContainerOptions } from './options';
import { deviceConfig } from './device-options';
import { parseSecurityOpts, securityConfig } from './security-options';
import { containerLabels } from './metadata-options';
import { healthConfig } from './health/options';
import { parseMounts } from './mount-flag';
import { defaultHostname, joinedNetworkConfig, namespaceConfig } from './namespace-options';
import { parseStorageDriver } from './rootfs';
import { checkStorageOpts } from './storage-opt';
import { processGroups, runFlagsConfig } from './run-flags-config';
import type { ContainerConfig, VolumeSpec } from './types';
import { stopConfig } from './stop-options';
import { networkExtrasConfig, withExposed, type LinkTarget } from '../network/run-network-extras';
import { runMiscConfig } from './run-misc-options';
import { parseLogDriver } from './logs';

/** A config as the store takes it: the store adds the creation time and, without one, a name. */
export type NewContainerConfig = Omit<ContainerConfig, 'name' | 'created'> & { name?: string };

export interface ConfigDefaults {
  storageDriver?: string;
  /** 'none', 'bridge' or a user network: the network of a container created without one. */
  defaultNetwork?: string;
  /** The container a --link names, if it exists. */
  findContainer?: (ref: string) => LinkTarget | undefined;
}

/** Validates the options against the image and builds the config of container `id`. */
export function containerConfig(
  id: string,
  o: ContainerOptions,
  images: ImageStore,
  defaults: ConfigDefaults,
  networkExists: (name: string) => boolean,
): NewContainerConfig {
  const limits = parseLimits(o);
  if (o.restart !== undefined && o.restart !== 'no' && o.rm) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      'Conflicting options: --restart and --rm; a container removed when it exits cannot be restarted',
    );
  }
  const storageDriver = parseStorageDriver(o.storageDriver ?? defaults.storageDriver ?? 'overlay');
  const image = images.resolve(o.image);
  let layers = images.layerDirs(image);
  // mount(2) takes one page of options: deep images go through the store's short layer links.
  if (layers.reduce((n, l) => n + l.length + 1, 0) > 3500) layers = images.shortLayerDirs(image);
  const ic = image.config.config ?? {};
  const mounts = parseMounts(o.mounts);
  const volumes = withImageVolumes([...(o.volumes ?? []).map(parseVolume), ...mounts.volumes], (ic as ImageVolumes).Volumes, [
    ...(o.tmpfs ?? []),
    ...mounts.tmpfs.map((t) => t.containerPath),
  ]);
  checkStorageOpts(o.storageOpt, storageDriver, layers[0]);
  const argv = commandLine(ic.Entrypoint ?? [], ic.Cmd ?? [], o.entrypoint, o.cmd);
  if (argv.length === 0) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `No command given and image ${quote(o.image)} has no default command; add one after the image name`,
    );
  }
  const workdir = o.workdir ?? (ic.WorkingDir || '/');
  if (!path.posix.isAbsolute(workdir))
    throw new BerthError('INVALID_ARGUMENT', `Expected an absolute path for --workdir but received ${quote(workdir)}`);
  const user = resolveUser(o.user ?? (ic.User || undefined), layers);
  if (o.hostname !== undefined && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/.test(o.hostname)) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Expected a hostname of letters, digits, dots and dashes (at most 63) for --hostname but received ${quote(o.hostname)}`,
    );
  }
  const defaultNetwork = defaults.defaultNetwork ?? 'bridge';
  // loopback only needs nothing of the network code (nor its files): the fast path
  const net =
    joinedNetworkConfig(o) ??
    (hasNetworkOptions(o) || defaultNetwork !== 'none'
      ? parseNetworkOptions(o, withExposed(ic.ExposedPorts, o.expose), networkExists, defaultNetwork)
      : undefined);
  const hostname = o.hostname ?? defaultHostname(o, id);
  const tty = !!o.tty;
  const labels = containerLabels(ic.Labels, o.labels);
  const healthcheck = healthConfig(ic.Healthcheck, o, ic.Shell);
  const capabilities = containerCapabilities(o);
  return {
    id,
    name: o.name,
    image: o.image,
    imageId: image.id,
    argv,
    env: buildEnv(ic.Env ?? [], o.env, hostname, tty, user.home),
    workdir: path.posix.normalize(workdir),
    uid: user.uid,
    gid: user.gid,
    groups: processGroups(user.groups, o.groupAdd, layers),
    hostname,
    tty,
    interactive: !!o.interactive,
    autoRemove: !!o.rm,
    volumes,
    limits,
    storageDriver,
    layers,
    init: !!o.init,
    capabilities,
    ...(o.privileged ? { privileged: true } : {}),
    ...securityConfig(parseSecurityOpts(o.securityOpt), capabilities),
    ...deviceConfig(o),
    restart: parseRestart(o.restart),
    log: { ...parseLogOpts(o.logOpts), ...parseLogDriver(o.logDriver) },
    ...net,
    ...runFlagsConfig(o),
    ...namespaceConfig(o),
    ...(labels ? { labels } : {}),
    ...stopConfig(o, ic.StopSignal),
    ...networkExtrasConfig(o, net?.network, defaults.findContainer ?? (() => undefined)),
    ...runMiscConfig(o, image.config),
    ...(healthcheck ? { healthcheck } : {}),
  };
}

/** The image config's Volumes (berth's ImageConfig type names only what the rest of berth reads). */
interface ImageVolumes {
  Volumes?: Record<string, object> | null;
}

/** docker: every VOLUME of the image is an anonymous volume, unless a -v or --tmpfs mounts there. */
function withImageVolumes(volumes: VolumeSpec[], imageVolumes: ImageVolumes['Volumes'], tmpfs: readonly string[]): VolumeSpec[] {
  const targets = volumes.map((v) => v.containerPath);
  const dup = targets.find((t, i) => targets.indexOf(t) !== i);
  if (dup !== undefined) {
    throw new BerthError('INVALID_ARGUMENT', `Duplicate mount point ${quote(dup)}: two --volume mount there; keep one`);
  }
  const taken = new Set([...targets, ...tmpfs.map((t) => path.posix.normalize(t.split(':')[0]))]);
  const out = [...volumes];
  for (const p of Object.keys(imageVolumes ?? {})) {
    const target = path.posix.normalize(p);
    if (!path.posix.isAbsolute(target) || target === '/' || taken.has(target)) continue;
    taken.add(target);
    out.push({ hostPath: '', containerPath: target, readonly: false, anonymous: true });
  }
  return out;
}

/** docker's rules: --entrypoint replaces the image's entrypoint and drops its Cmd; a command given
 *  replaces Cmd; an empty --entrypoint ("") means none. */
export function commandLine(
  imageEntrypoint: string[],
  imageCmd: string[],
  entrypoint: string | string[] | undefined,
  cmd: string[] | undefined,
): string[] {
  const ep =
    entrypoint === undefined ? imageEntrypoint : (typeof entrypoint === 'string' ? [entrypoint] : entrypoint).filter((a) => a !== '');
  const args = cmd && cmd.length > 0 ? cmd : entrypoint === undefined ? imageCmd : [];
  return [...ep, ...args];
}

function hasNetworkOptions(o: ContainerOptions): boolean {
  return (
    o.network !== undefined ||
    o.ip !== undefined ||
    o.mac !== undefined ||
    o.dns !== undefined ||
    o.addHosts !== undefined ||
    (o.publish?.length ?? 0) > 0 ||
    !!o.publishAll
  );
}
