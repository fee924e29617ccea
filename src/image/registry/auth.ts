import { RegistryError } from './errors';
import { quote } from '../../util/quote';

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * The first challenge of a WWW-Authenticate header (RFC 7235): `Bearer realm="...",service="...",scope="..."`.
 * Quoted values may contain commas (scopes do: "repository:a:pull,push") and backslash escapes.
 */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z][\w-]*)\s*/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const param = /\s*([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/y;
  param.lastIndex = m[0].length;
  for (let p = param.exec(header); p; p = param.exec(header)) {
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
    if (param.lastIndex >= header.length) break;
  }
  return { scheme: m[1].toLowerCase(), params };
}

export function basicAuthorization(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** The token from a token endpoint's JSON answer (distribution's token spec: "token", OAuth2's "access_token"). */
export function tokenFrom(body: unknown, realm: string): string {
  const b = body as { token?: unknown; access_token?: unknown } | null;
  const token = typeof b?.token === 'string' ? b.token : typeof b?.access_token === 'string' ? b.access_token : undefined;
  if (!token) throw new RegistryError('protocol', `The token endpoint ${quote(realm)} answered without a token`);
  return token;
}

/** Pull access to one repository, as the distribution token spec spells a scope. */
export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

/** Push access to one repository; pushing needs pull too (HEAD of existing blobs). */
export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}
