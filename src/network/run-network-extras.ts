/**
 * The smaller network flags of `run`/`create`, as docker has them: --network-alias (more names a
 * container answers to on its user network), --link (an /etc/hosts entry for another running
 * container of its network), --dns-search and --dns-option (resolv.conf's search and options
 * lines), --expose (ports recorded like the image's EXPOSE, published by -P), and --ip6 (refused:
 * berth's networks are IPv4 only). Parsed into config.json here; used by attachments (aliases,
 * links) and etc-files (resolv.conf).
 */
import { BerthError, invalid } from '../errors';
import { quote } from '../util/quote';
import { DEFAULT_NETWORK } from './networks';
import type { ContainerNetwork, HostEntry } from './types';

export interface NetworkExtrasInput {
  /** docker's --network-alias: names other containers of its user network resolve to it. */
  networkAliases?: string[];
  /** docker's --link CONTAINER[:ALIAS]: an /etc/hosts entry for that running container. */
  links?: string[];
  /** docker's --dns-search: the search line of /etc/resolv.conf ("." for none). */
  dnsSearch?: string[];
  /** docker's --dns-option: the options line of /etc/resolv.conf (ndots:2, edns0). */
  dnsOptions?: string[];
  /** docker's --expose PORT[/PROTO] or a range: exposed like the image's, published by -P. */
  expose?: string[];
  /** docker's --ip6: refused until berth has IPv6 networks. */
  ip6?: string;
}

/** A --link as config.json keeps it: the container by ID (a rename does not break it), its name then. */
export interface LinkSpec {
  id: string;
  name: string;
  alias: string;
}

/** What config.json records of these flags. */
export interface NetworkExtras {
  networkAliases?: string[];
  links?: LinkSpec[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** --expose as the image config's keys: '80/tcp', '5000-5002/udp'. */
  exposedPorts?: string[];
}

/** The name rule of the hosts file (hosts.ts) and of container names. */
const ALIAS_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,252}$/;
const DOMAIN_RE = /^[a-zA-Z0-9_.-]{1,253}$/;

/** The checks that need no image and no other container. */
export function checkNetworkExtras(o: NetworkExtrasInput): void {
  if (o.ip6 !== undefined) {
    throw new BerthError(
      'UNSUPPORTED',
      `--ip6 ${quote(o.ip6)} is not supported: berth networks are IPv4 only; drop --ip6 (use --ip for an IPv4 address)`,
    );
  }
  for (const a of o.networkAliases ?? []) if (!ALIAS_RE.test(a)) throw invalid('--network-alias', 'a name of letters, digits, _ . -', a);
  for (const l of o.links ?? []) splitLink(l);
  for (const d of o.dnsSearch ?? []) if (d !== '.' && !DOMAIN_RE.test(d)) throw invalid('--dns-search', 'a domain like example.com', d);
  for (const opt of o.dnsOptions ?? [])
    if (!/^[a-zA-Z0-9_-]+(:[a-zA-Z0-9_.-]+)?$/.test(opt)) throw invalid('--dns-option', 'an option like ndots:2 or edns0', opt);
  o.expose?.forEach(exposeKey);
}

/** --link NAME[:ALIAS]: the alias defaults to the name. */
export function splitLink(spec: string): { name: string; alias: string } {
  const parts = spec.split(':');
  const [name, alias = parts[0]] = parts;
  if (parts.length > 2 || !ALIAS_RE.test(name) || !ALIAS_RE.test(alias)) throw invalid('--link', 'CONTAINER[:ALIAS]', spec);
  return { name: name.replace(/^\//, ''), alias };
}

/** --expose 80, 80/udp, 8000-8002/tcp as the image config's ExposedPorts key. */
export function exposeKey(spec: string): string {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/.exec(spec);
  const lo = Number(m?.[1]);
  const hi = m?.[2] === undefined ? lo : Number(m[2]);
  if (!m || lo < 1 || hi > 65535 || hi < lo) throw invalid('--expose', 'PORT[/PROTO] or a range like 8000-8002/tcp (1 to 65535)', spec);
  return `${m[2] === undefined ? lo : `${lo}-${hi}`}/${m[3] ?? 'tcp'}`;
}

/** The image's ExposedPorts with --expose's added: what -P publishes. */
export function withExposed(
  image: Record<string, object> | undefined,
  expose: readonly string[] | undefined,
): Record<string, object> | undefined {
  if (!expose || expose.length === 0) return image;
  return { ...(image ?? {}), ...Object.fromEntries(expose.map((e) => [exposeKey(e), {}])) };
}

/** A container --link names, as the store knows it. */
export interface LinkTarget {
  id: string;
  name: string;
  running: boolean;
  /** The bridge networks it is on: the one it was created on, then those `network connect` added. */
  networks: string[];
}

/**
 * The config fields of these flags for a container on `network`. `find` looks a container up
 * (undefined: none of that name). docker refuses a link to a container that does not exist or
 * does not run, and an alias off a user network.
 */
export function networkExtrasConfig(
  o: NetworkExtrasInput,
  network: ContainerNetwork | undefined,
  find: (ref: string) => LinkTarget | undefined,
): NetworkExtras {
  checkNetworkExtras(o);
  const userNetwork = network?.mode === 'bridge' && (network.name ?? DEFAULT_NETWORK) !== DEFAULT_NETWORK;
  if ((o.networkAliases?.length ?? 0) > 0 && !userNetwork) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      'Network-scoped aliases are supported only for containers on user-defined networks; add --network NAME (a network from berth network create)',
    );
  }
  const links = (o.links ?? []).map((spec): LinkSpec => {
    const { name, alias } = splitLink(spec);
    const target = find(name);
    if (!target)
      throw new BerthError(
        'CONTAINER_NOT_FOUND',
        `Could not get container for ${name}: no such container; --link names a running container`,
      );
    if (!target.running) throw new BerthError('INVALID_STATE', `Cannot link to a non running container: ${name}; start it first`);
    if (network?.mode !== 'bridge')
      throw new BerthError(
        'INVALID_ARGUMENT',
        `Conflicting options: --link and --network ${network?.mode ?? 'none'}; links need a bridge network`,
      );
    if (!target.networks.includes(network.name ?? DEFAULT_NETWORK))
      throw new BerthError(
        'INVALID_ARGUMENT',
        `Cannot link to ${name}: it is not on network ${quote(network.name ?? DEFAULT_NETWORK)}; run both on one network`,
      );
    return { id: target.id, name: target.name, alias };
  });
  return {
    ...(o.networkAliases?.length ? { networkAliases: [...new Set(o.networkAliases)] } : {}),
    ...(links.length ? { links } : {}),
    ...(o.dnsSearch !== undefined ? { dnsSearch: o.dnsSearch } : {}),
    ...(o.dnsOptions !== undefined ? { dnsOptions: o.dnsOptions } : {}),
    ...(o.expose?.length ? { exposedPorts: [...new Set(o.expose.map(exposeKey))] } : {}),
  };
}

/**
 * The /etc/hosts entries of a container's links at its start: each linked container's address on
 * the network they share, under its alias and name. `addressOf` is the running container's address
 * on that network, undefined if it does not run now.
 */
export function linkHostEntries(links: readonly LinkSpec[] | undefined, addressOf: (id: string) => string | undefined): HostEntry[] {
  return (links ?? []).map((l) => {
    const ip = addressOf(l.id);
    if (ip === undefined) throw new BerthError('INVALID_STATE', `Cannot link to a non running container: ${l.name}; start it first`);
    return { host: [...new Set([l.alias, l.name])].join(' '), ip };
  });
}

/** resolv.conf with --dns-search and --dns-option: each replaces the file's own line ("." for no search). */
export function withSearchAndOptions(content: string, search?: readonly string[], options?: readonly string[]): string {
  if (search === undefined && options === undefined) return content;
  let lines = content.split('\n').filter((l) => l.trim() !== '');
  if (search !== undefined) {
    lines = lines.filter((l) => !/^\s*(search|domain)\s/.test(l));
    const domains = search.filter((d) => d !== '.');
    if (domains.length > 0) lines.push(`search ${domains.join(' ')}`);
  }
  if (options !== undefined) {
    lines = lines.filter((l) => !/^\s*options\s/.test(l));
    if (options.length > 0) lines.push(`options ${options.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}
