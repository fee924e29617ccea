/**
 * linux.rootfsPropagation as docker fills it. Without one, the native start makes the container's
 * mount namespace private at once, so nothing propagates between the host and the container. A bind
 * with a shared or slave propagation needs the namespace's copies of the host's mounts to keep
 * their peers: docker then sets rootfsPropagation to shared (a shared or rshared bind) or rslave
 * (a slave or rslave one), and gives every other bind docker's default rprivate, so that only the
 * binds asked for propagate.
 */
import type { Mount } from '../oci/spec';
import type { ContainerConfig } from './types';

/** The rootfsPropagation docker gives a container with these volumes (undefined: none). */
export function rootPropagationOf(config: Pick<ContainerConfig, 'volumes'>): 'shared' | 'rslave' | undefined {
  const words = config.volumes.map((v) => v.propagation ?? '');
  if (words.some((w) => w === 'shared' || w === 'rshared')) return 'shared';
  if (words.some((w) => w === 'slave' || w === 'rslave')) return 'rslave';
  return undefined;
}

const PROPAGATION_WORDS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable']);

/** With a rootfsPropagation: each bind without a propagation of its own made rprivate (docker's
 *  default), so that it does not exchange mounts with the host. */
export function withPrivateBinds(mounts: Mount[], rootPropagation: string | undefined): Mount[] {
  if (rootPropagation === undefined) return mounts;
  return mounts.map((m) =>
    m.type === 'bind' && !(m.options ?? []).some((o) => PROPAGATION_WORDS.has(o))
      ? { ...m, options: [...(m.options ?? []), 'rprivate'] }
      : m,
  );
}
