/**
 * The volumes of a container at create and at removal. Creation holds the volume store's lock from
 * making the volumes to recording the container, so a concurrent `volume rm` either runs before
 * (and the volume is made again) or sees the container; copy-up happens under the same lock, so two
 * creations never both fill one new volume.
 */
import * as fs from 'node:fs';
import { BerthError } from '../errors';
import { quote } from '../util/quote';
import { safely } from '../util/safely';
import { copyImageContent } from '../volume/copy-up';
import type { VolumeStore, VolumeUser } from '../volume/store';
import type { NewContainerConfig } from './container-config';
import type { ContainerStore } from './store';
import type { ContainerConfig, ContainerInfo, MountInfo, VolumeSpec } from './types';

const usesVolumes = (config: Pick<ContainerConfig, 'volumes'>) => config.volumes.some((v) => v.volume !== undefined || v.anonymous);

/** Makes the host directories of binds and the volumes of a new container, then records it with
 *  the container store and copies the image's content into empty volumes; on any failure the record
 *  goes again and so do the volumes made here. */
export function createWithVolumes(store: VolumeStore, containers: ContainerStore, given: NewContainerConfig): ContainerInfo {
  const record = (c: NewContainerConfig) => containers.create(c);
  const discard = (info: ContainerInfo) => containers.remove(info.config.id, { name: info.config.name });
  const config = { ...given, volumes: bindSources(given.volumes) };
  if (!usesVolumes(config)) return record(config);
  return store.withLock(() => {
    const made: string[] = [];
    let info: ContainerInfo | undefined;
    try {
      const resolved = config.volumes.map((v) => {
        if (v.volume === undefined && !v.anonymous) return v;
        const { record: vol, created } = store.create(
          v.anonymous ? { anonymous: true, container: config.id, labels: v.labels } : { name: v.volume, labels: v.labels },
        );
        if (created) made.push(vol.name);
        return { ...v, volume: vol.name, hostPath: store.mountpoint(vol.name) };
      });
      info = record({ ...config, volumes: resolved });
      // docker copies into a volume that is still empty, on every use, unless nocopy
      for (const v of resolved) if (!v.noCopy && v.volume !== undefined) copyImageContent(config.layers, v.containerPath, v.hostPath);
      return info;
    } catch (e) {
      if (info) safely(() => discard(info!));
      for (const name of made) safely(() => store.remove(name, { force: true }));
      throw e;
    }
  });
}

/** docker's sources of binds: a --mount bind's must exist (checked for all before any is made), a
 *  -v one's missing directory is made; a source that is a file is marked so its target is one. */
function bindSources(volumes: VolumeSpec[]): VolumeSpec[] {
  const binds = volumes.filter((v) => v.volume === undefined && !v.anonymous);
  for (const v of binds)
    if (v.mustExist && !fs.existsSync(v.hostPath))
      throw new BerthError(
        'INVALID_ARGUMENT',
        `Invalid --mount type=bind: the bind source path ${quote(v.hostPath)} does not exist; create it first (-v would make a directory)`,
      );
  return volumes.map((v) => {
    if (v.volume !== undefined || v.anonymous) return v;
    const st = fs.statSync(v.hostPath, { throwIfNoEntry: false });
    if (!st) fs.mkdirSync(v.hostPath, { recursive: true });
    const { file: _given, ...rest } = v; // what create finds, never what an API caller claimed
    return st && !st.isDirectory() ? { ...rest, file: true } : rest;
  });
}

/** rm -v and --rm: the container's anonymous volumes, once no other container mounts one. */
export function removeAnonymousVolumes(store: VolumeStore, config: Pick<ContainerConfig, 'volumes'>): void {
  const anonymous = config.volumes.filter((v) => v.anonymous && v.volume !== undefined);
  for (const v of anonymous) safely(() => store.remove(v.volume!, { force: true }));
}

/** The anonymous volumes made for container id, once it is gone (a detached --rm one, whose shim
 *  removed it): `container cleanup` runs this. */
export function removeAnonymousVolumesOf(store: VolumeStore, id: string): void {
  if (!fs.existsSync(store.dir)) return;
  for (const v of store.list()) if (v.anonymous && v.container === id) safely(() => store.remove(v.name, { force: true }));
}

/** The containers whose config mounts the volume `name`. */
export function volumeUsers(containers: ContainerInfo[], name: string): VolumeUser[] {
  return containers.filter((c) => c.config.volumes.some((v) => v.volume === name)).map((c) => ({ id: c.config.id, name: c.config.name }));
}

/** inspect's Mounts, in docker's shape: binds and volumes, then --mount's tmpfs mounts. */
export function mountsOf(config: Pick<ContainerConfig, 'volumes' | 'tmpfs'>): MountInfo[] {
  const volumes = config.volumes.map((v): MountInfo => ({
    Type: v.volume !== undefined ? 'volume' : 'bind',
    ...(v.volume !== undefined ? { Name: v.volume, Driver: 'local' } : {}),
    Source: v.hostPath,
    Destination: v.containerPath,
    Mode: v.readonly && !v.mount ? 'ro' : '',
    RW: !v.readonly,
    Propagation: v.volume !== undefined ? '' : (v.propagation ?? 'rprivate'),
  }));
  const tmpfs = (config.tmpfs ?? [])
    .filter((t) => t.mount)
    .map((t): MountInfo => ({
      Type: 'tmpfs',
      Source: '',
      Destination: t.containerPath,
      Mode: '',
      RW: !t.options.includes('ro'),
      Propagation: '',
    }));
  return [...volumes, ...tmpfs];
}
