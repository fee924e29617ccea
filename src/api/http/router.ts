/**
 * The Engine API's paths, with and without a version prefix (/v1.43/containers/json and
 * /containers/json are the same route). A `{name}` parameter is one path segment; `{name*}` takes
 * the rest up to the route's next fixed part, as docker's `{name:.*}` does for image names with
 * slashes (/images/localhost:5000/app/json).
 */
import type { Ctx } from './context';

export type Handler = (ctx: Ctx) => Promise<void> | void;

export interface Route {
  method: string;
  path: string;
  handler: Handler;
}

interface CompiledRoute extends Route {
  re: RegExp;
  names: string[];
}

export function route(method: string, path: string, handler: Handler): Route {
  return { method, path, handler };
}

/** The oldest and newest API versions berth answers; the newest is what /version reports. */
export const API_VERSION = '1.43';
export const MIN_API_VERSION = '1.24';

export function compile(routes: Route[]): CompiledRoute[] {
  return routes.map((r) => {
    const names: string[] = [];
    const pattern = r.path
      .split('/')
      .map((seg) => {
        const m = /^\{(\w+)(\*?)\}$/.exec(seg);
        if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(m[1]);
        return m[2] ? '(.+?)' : '([^/]+)';
      })
      .join('/');
    return { ...r, re: new RegExp(`^${pattern}/?$`), names };
  });
}

export interface Match {
  route: CompiledRoute;
  params: Record<string, string>;
  version?: string;
}

/** The route of a request path, its parameters decoded; `methodMismatch` when only the method differs. */
export function match(routes: CompiledRoute[], method: string, pathname: string): Match | 'not-found' | 'method-not-allowed' {
  const versioned = /^\/v(\d+\.\d+)(\/.*)$/.exec(pathname);
  const bare = versioned ? versioned[2] : pathname;
  let pathMatched = false;
  // an exact method first: HEAD has routes of its own (archive), else it is answered as GET
  for (const wanted of method === 'HEAD' ? ['HEAD', 'GET'] : [method]) {
    for (const r of routes) {
      const m = r.re.exec(bare);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== wanted) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
      return { route: r, params, ...(versioned ? { version: versioned[1] } : {}) };
    }
  }
  return pathMatched ? 'method-not-allowed' : 'not-found';
}

/** "1.41" as a number that compares as versions do (1.9 < 1.41). */
export function versionNumber(v: string): number {
  const [major, minor] = v.split('.').map(Number);
  return major * 1000 + minor;
}
