import { isIPv4 } from 'node:net';
import { RegistryError } from './errors';

/** Docker Hub's API lives on another host than the name people use. */
const API_HOSTS: Record<string, string> = { 'docker.io': 'registry-1.docker.io' };

/** "host:port" as it would appear in a URL, for a registry as written in a reference. */
export function apiHost(registry: string): string {
  return API_HOSTS[registry] ?? registry;
}

function hostname(hostPort: string): string {
  try {
    return new URL(`http://${hostPort}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return hostPort;
  }
}

/** Docker's rule: localhost and the loopback networks are trusted over plain http, as nothing leaves the machine. */
function isLoopback(hostPort: string): boolean {
  const h = hostname(hostPort).toLowerCase();
  return h === 'localhost' || h === '::1' || (isIPv4(h) && h.startsWith('127.'));
}

/** An --insecure-registry entry matches the host with or without its port. */
function allowsPlainHttp(hostPort: string, insecureRegistries: readonly string[] = []): boolean {
  if (isLoopback(hostPort)) return true;
  const h = hostname(hostPort);
  return insecureRegistries.some((r) => r === hostPort || r === h);
}

/** Schemes to try for a registry, in order: https always first, then http where allowed (docker's fallback). */
export function schemesFor(registry: string, insecureRegistries: readonly string[] = []): Array<'https' | 'http'> {
  return allowsPlainHttp(apiHost(registry), insecureRegistries) ? ['https', 'http'] : ['https'];
}

/** Refuse a plain-http URL the policy does not allow: the registry's own, a redirect target, or a token realm. */
export function checkUrl(url: URL, insecureRegistries: readonly string[], what: string): void {
  if (url.protocol === 'https:') return;
  if (url.protocol !== 'http:') {
    throw new RegistryError('protocol', `The ${what} ${url.href} is neither https nor http`);
  }
  if (!allowsPlainHttp(url.host, insecureRegistries)) {
    throw new RegistryError(
      'insecure',
      `Refusing plain http to ${url.host} (${what}): berth uses http only for localhost and 127.0.0.0/8; allow this host with --insecure-registry ${url.host}`,
    );
  }
}
