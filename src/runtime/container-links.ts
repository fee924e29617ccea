/** What --link needs of the container store: the container a name refers to, if any, and whether it runs. */
import { BerthError } from '../errors';
import type { LinkTarget } from '../network/run-network-extras';
import { DEFAULT_NETWORK } from '../network/networks';
import { isRunning } from './container-predicates';
import type { ContainerInfo } from './types';

/** A lookup for networkExtrasConfig: undefined for a container that does not exist. */
export function linkTargetFinder(resolve: (ref: string) => ContainerInfo): (ref: string) => LinkTarget | undefined {
  return (ref) => {
    let c: ContainerInfo;
    try {
      c = resolve(ref);
    } catch (e) {
      if (e instanceof BerthError && e.code === 'CONTAINER_NOT_FOUND') return undefined;
      throw e;
    }
    const n = c.config.network;
    const primary = n?.mode === 'bridge' ? [n.name ?? DEFAULT_NETWORK] : [];
    const networks = [...primary, ...(c.config.connected ?? []).map((x) => x.name)];
    return { id: c.config.id, name: c.config.name, running: isRunning(c.state), networks };
  };
}
