/** linux.namespaces in the plan's terms: the namespaces the init is cloned with, those joined by
 *  path before the clone (the user namespace first), and what the user namespace is. */
import { BerthError } from '../errors';
import { quote } from '../util/quote';
import type { Namespace } from './spec';
import type { UserNamespaceUse } from './user-namespace';

const fail = (field: string, why: string): never => {
  throw new BerthError('INVALID_ARGUMENT', `config.json ${field}: ${why}`);
};

/** The spec's namespace types as the plan (and clone(2)'s and setns(2)'s flags) name them. */
export const NEW_NAMESPACE: Readonly<Record<string, string>> = {
  pid: 'pid',
  network: 'net',
  mount: 'mnt',
  ipc: 'ipc',
  uts: 'uts',
  cgroup: 'cgroup',
  user: 'user',
};
const JOIN_NAMESPACE: Record<string, string> = { pid: 'pid', network: 'net', ipc: 'ipc', uts: 'uts', cgroup: 'cgroup', user: 'user' };

export interface NamespacePlan {
  create: string[];
  join: Array<[string, string]>;
  netnsPath?: string;
  user: UserNamespaceUse;
}

export function namespaces(list: Namespace[], joinInChild: boolean): NamespacePlan {
  let netnsPath: string | undefined;
  let user: UserNamespaceUse = { kind: 'none' };
  const create: string[] = [];
  const join: Array<[string, string]> = [];
  list.forEach((ns, i) => {
    const field = `linux.namespaces[${i}]`;
    // berth run's child shares Node's memory while its parent sleeps: nobody could write its maps
    if (ns.type === 'user' && joinInChild) fail(field, 'user namespaces are supported by berth-oci only');
    if (ns.type === 'user') user = ns.path ? { kind: 'join', field, path: ns.path } : { kind: 'new', field };
    if (ns.type === 'time') fail(field, 'time namespaces are not supported by berth-oci');
    if (!(ns.type in NEW_NAMESPACE)) fail(`${field}.type`, `unknown namespace type ${quote(ns.type)}`);
    if (ns.path) {
      if (!JOIN_NAMESPACE[ns.type])
        fail(`${field}.path`, 'joining a mount namespace by path is not supported; give the container a new one');
      if (joinInChild && ns.type === 'network') netnsPath = ns.path;
      // berth's own starts: another container's PID or IPC namespace, joined by berth-nsenter
      else if (joinInChild && ns.type !== 'pid' && ns.type !== 'ipc')
        fail(`${field}.path`, 'only a network, PID or IPC namespace can be joined by path here');
      // the user namespace first, as runc joins it: the others are then joined with its privileges
      else if (ns.type === 'user') join.unshift(['user', ns.path]);
      else join.push([JOIN_NAMESPACE[ns.type], ns.path]);
    } else {
      create.push(NEW_NAMESPACE[ns.type]);
    }
  });
  if (!create.includes('mnt')) fail('linux.namespaces', 'berth-oci needs a new mount namespace (type "mount") for the container');
  return { create, join, user, ...(netnsPath ? { netnsPath } : {}) };
}
