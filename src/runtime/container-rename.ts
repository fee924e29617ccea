/**
 * docker rename: the store moves the name (claim the new, commit config.json, release the old:
 * store.ts rename), then the networks learn it, so containers that resolve this one by name on a
 * user network find it under the new name. The running container's own hostname stays, as
 * docker's does; links by ID are untouched.
 */
import { safely } from '../util/safely';
import { onCniNetwork } from './container-predicates';
import type { Runtime } from './runtime';
import type { ContainerInfo } from './types';

export function renameContainer(rt: Runtime, ref: string, newName: string): ContainerInfo {
  const info = rt.resolve(ref);
  const config = rt.store.rename(info.config.id, newName);
  // The sandbox record exists while the container has a network (running, or a crash's leftover a
  // sweep releases); a stopped one's next start writes its record with the new name anyway.
  if (onCniNetwork(config)) safely(() => rt.networks.rename(config.id, newName));
  rt.events.container('rename', config, { oldName: `/${info.config.name}` });
  return { config, state: info.state };
}
