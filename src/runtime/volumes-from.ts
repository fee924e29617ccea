/**
 * docker's --volumes-from CONTAINER[:ro|rw]: the binds and volumes (not the tmpfs mounts) of
 * another container, in any state, at the same destinations and in their modes (or all ro, or all
 * rw). Resolved before the new container's config is built, as VolumeSpec objects among its
 * volumes; a -v, --mount or --tmpfs at one of those destinations replaces it (docker's order). A missing
 * container is refused before anything is made.
 */
import { BerthError, invalid } from '../errors';
import { quote } from '../util/quote';
import { parseTmpfs } from './filesystem-options';
import { parseMounts } from './mount-flag';
import { parseVolume, type ContainerOptions } from './options';
import type { ContainerInfo, VolumeSpec } from './types';

/** CONTAINER or CONTAINER:ro or CONTAINER:rw. */
export function parseVolumesFrom(value: string): { container: string; mode?: 'ro' | 'rw' } {
  const m = /^([^:]+)(?::(ro|rw))?$/.exec(value);
  if (!m) throw invalid('--volumes-from', 'CONTAINER[:ro|rw]', value);
  return { container: m[1], ...(m[2] ? { mode: m[2] as 'ro' | 'rw' } : {}) };
}

/** The options with --volumes-from's mounts among the volumes; `resolve` finds a container by
 *  name or ID (throwing for a missing one). */
export function withVolumesFrom(o: ContainerOptions, resolve: (ref: string) => ContainerInfo): ContainerOptions {
  if (!o.volumesFrom || o.volumesFrom.length === 0) return o;
  const mounts = parseMounts(o.mounts);
  const given = new Set([
    ...(o.volumes ?? []).map((v) => parseVolume(v).containerPath),
    ...mounts.volumes.map((v) => v.containerPath),
    ...mounts.tmpfs.map((t) => t.containerPath),
    ...(o.tmpfs ?? []).map((t) => parseTmpfs(t).containerPath),
  ]);
  const from = new Map<string, VolumeSpec>();
  for (const value of o.volumesFrom) {
    const { container, mode } = parseVolumesFrom(value);
    let source: ContainerInfo;
    try {
      source = resolve(container);
    } catch (e) {
      if (e instanceof BerthError && e.code === 'CONTAINER_NOT_FOUND')
        throw new BerthError(
          'CONTAINER_NOT_FOUND',
          `No such container: ${quote(container)} for --volumes-from; give an existing container's name or ID`,
        );
      throw e;
    }
    for (const v of source.config.volumes) {
      if (given.has(v.containerPath)) continue;
      const readonly = mode === undefined ? v.readonly : mode === 'ro';
      // a volume is shared by name (an anonymous one too: it stays the first container's), never
      // filled again from this image; a bind keeps its source as the first container found it
      const spec: VolumeSpec =
        v.volume !== undefined
          ? { hostPath: '', containerPath: v.containerPath, readonly, volume: v.volume, noCopy: true }
          : {
              hostPath: v.hostPath,
              containerPath: v.containerPath,
              readonly,
              ...(v.propagation ? { propagation: v.propagation } : {}),
              ...(v.nonRecursive ? { nonRecursive: true } : {}),
            };
      from.set(v.containerPath, spec); // a later --volumes-from wins, as docker's
    }
  }
  return { ...o, volumes: [...from.values(), ...(o.volumes ?? [])] };
}
