import { Readable } from 'node:stream';
import { BerthError } from '../../errors';
import { isDigest, sha256Digest } from '../digest';
import { basicAuthorization, parseChallenge, pullScope, pushScope, tokenFrom, type Challenge, type Credentials } from './auth';
import { apiHost, checkUrl, schemesFor } from './endpoint';
import { RegistryError, registryMessage } from './errors';
import { MANIFEST_ACCEPT } from './media-types';
import { CONNECT_TIMEOUT_ENV, IDLE_TIMEOUT_ENV, registryTimeouts, type RegistryTimeouts } from '../limits';
import { quote } from '../../util/quote';
import { idleTimed } from './idle-body';

interface RegistryClientOptions {
  /** For basic auth, or exchanged at the token endpoint for a bearer token. */
  credentials?: Credentials;
  /** Hosts (host or host:port) that may be reached over plain http besides localhost and 127.0.0.0/8. */
  insecureRegistries?: readonly string[];
  /** Aborts every request and body of this client. */
  signal?: AbortSignal;
  /** Seconds; default $BERTH_REGISTRY_CONNECT_TIMEOUT / $BERTH_REGISTRY_TIMEOUT, else 30 and 60. */
  timeouts?: RegistryTimeouts;
  /** Ask token endpoints for push access too (a push: repository:NAME:pull,push), not the challenge's scope. */
  push?: boolean;
}

/**
 * What a request sends besides headers: its method, and a body made anew for every attempt (a retry
 * after a 401 cannot replay a consumed stream). `touch` restarts the connect timeout: an upload's
 * answer comes only after its last byte, so the clock must run from there, not from the start.
 */
export interface RequestBody {
  method: string;
  body?: (touch: () => void) => BodyInit;
}

interface FetchedManifest {
  mediaType: string;
  digest: string;
  bytes: Buffer;
}

/** Manifests are small; a registry sending more is broken or hostile (containerd uses the same limit). */
const MAX_MANIFEST_BYTES = 4 << 20;
const MAX_REDIRECTS = 10;
const REDIRECT = new Set([301, 302, 303, 307, 308]);
/** Statuses whose Response cannot carry a body. */
const NULL_BODY = new Set([101, 204, 205, 304]);

/** A header value and the one origin it may be sent to. */
interface Authorization {
  value: string;
  origin: string;
}

/**
 * One registry, spoken to over the OCI distribution API v2 with Node's fetch. The scheme is found once by
 * pinging /v2/ (https first; plain http only where allowed). Authorization is added on demand: a 401 names
 * its scheme, and the request is retried once with basic credentials or a bearer token from the realm.
 */
export class RegistryClient {
  readonly registry: string;
  private readonly opts: RegistryClientOptions;
  private readonly timeouts: Required<RegistryTimeouts>;
  private base?: Promise<string>;
  /** "Basic ..." once the registry asked for basic auth; per-repository bearer tokens otherwise. */
  private basic?: string;
  private readonly tokens = new Map<string, string>();
  /** Where credentials may be sent: the registry's own origin, never a redirect target elsewhere. */
  private registryOrigin = '';

  constructor(registry: string, opts: RegistryClientOptions = {}) {
    this.registry = registry;
    this.opts = opts;
    this.timeouts = registryTimeouts(opts.timeouts);
  }

  /** A manifest or index by tag or digest, its bytes checked against the digest asked for or announced. */
  async manifest(repository: string, reference: string): Promise<FetchedManifest> {
    const source = `${this.registry}/${repository}${isDigest(reference) ? '@' : ':'}${reference}`;
    const res = await this.get(repository, `manifests/${reference}`, { accept: MANIFEST_ACCEPT }, source);
    const bytes = await readLimited(res, MAX_MANIFEST_BYTES, `The manifest of ${source}`);
    const digest = sha256Digest(bytes);
    const announced = res.headers.get('docker-content-digest');
    const expected = isDigest(reference) ? reference : announced && isDigest(announced) ? announced : undefined;
    if (expected && expected !== digest) {
      throw new BerthError(
        'DIGEST_MISMATCH',
        `The manifest of ${source} from ${this.registry} has digest ${digest}, not ${expected}: the registry sent corrupt or tampered data`,
      );
    }
    let mediaType = res.headers.get('content-type')?.split(';')[0].trim() ?? '';
    try {
      const declared = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
      if (typeof declared === 'string' && declared) mediaType = declared;
    } catch (e) {
      throw new RegistryError('protocol', `The manifest of ${source} from ${this.registry} is not valid JSON`, { cause: e });
    }
    return { mediaType, digest, bytes };
  }

  /**
   * `docker login`: whether the registry accepts the credentials. A registry that asks for none accepts any;
   * one that asks for basic auth must answer /v2/ with them; one that hands out bearer tokens must hand one
   * out for them.
   */
  async checkCredentials(): Promise<void> {
    const creds = this.opts.credentials;
    if (!creds) throw new RegistryError('unauthorized', `Logging in to ${this.registry} needs a username and password`);
    const base = await this.endpoint();
    const url = new URL(`${base}/v2/`);
    const first = await this.send(url, {}, undefined);
    await first.body?.cancel();
    if (first.ok) return;
    const challenge = first.status === 401 ? parseChallenge(first.headers.get('www-authenticate')) : undefined;
    if (challenge?.scheme === 'basic') {
      const res = await this.send(url, {}, { value: basicAuthorization(creds), origin: this.registryOrigin });
      await res.body?.cancel();
      if (res.ok) return;
      throw new RegistryError(
        'unauthorized',
        `The registry ${this.registry} refused the username ${quote(creds.username)} with that password (${res.status}); check the credentials`,
        { status: res.status },
      );
    }
    if (challenge?.scheme === 'bearer' && challenge.params.realm) {
      await this.fetchToken(challenge, undefined);
      return;
    }
    throw new RegistryError(
      'protocol',
      `The registry ${this.registry} answered /v2/ with ${first.status} ${first.statusText} and no usable authentication challenge`,
      { status: first.status },
    );
  }

  /** A blob's bytes as they arrive. The caller verifies them against the digest. */
  async blob(repository: string, digest: string): Promise<Readable> {
    const res = await this.get(repository, `blobs/${digest}`, {}, `blob ${digest} of ${this.registry}/${repository}`);
    if (!res.body) throw new RegistryError('protocol', `The registry ${this.registry} sent blob ${digest} without a body`);
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    // The reader sees a failure through its iterator. Until it starts reading (the staging file is
    // still being opened), an abort of the pull must not become an uncaught 'error' event.
    body.on('error', () => {});
    return body;
  }

  private async get(repository: string, path: string, headers: Record<string, string>, what: string): Promise<Response> {
    const res = await this.request(repository, path, headers, what);
    if (res.ok) return res;
    throw await this.responseError(res, what);
  }

  /**
   * A request for `target` (a path under /v2/<repository>/, or a URL the registry handed out, such as an
   * upload's Location), authorized as every request of this client: on a 401 the challenge is answered
   * and the request sent once more. The caller judges the status (see responseError).
   */
  async request(
    repository: string,
    target: string,
    headers: Record<string, string>,
    what: string,
    init: RequestBody = { method: 'GET' },
  ): Promise<Response> {
    const base = await this.endpoint();
    const url = /^(https?:)?\//.test(target) ? new URL(target, base) : new URL(`${base}/v2/${repository}/${target}`);
    let res = await this.send(url, headers, this.authorization(repository), what, init);
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get('www-authenticate'));
      await res.body?.cancel();
      await this.authorize(challenge, repository);
      res = await this.send(url, headers, this.authorization(repository), what, init);
    }
    return res;
  }

  /** The error for a failed answer about `what`: refused access names `berth login`, 404 is not-found. */
  async responseError(res: Response, what: string): Promise<RegistryError> {
    const detail = await registryMessage(res);
    const suffix = detail ? ` (${quote(detail)})` : '';
    if (res.status === 401 || res.status === 403) {
      // Docker Hub answers 401 for a repository that does not exist too, so both causes are named.
      const fix = this.opts.credentials
        ? 'check the credentials and the repository name'
        : `the repository does not exist or needs credentials (log in with \`berth login ${this.registry}\`)`;
      return new RegistryError(
        res.status === 401 ? 'unauthorized' : 'denied',
        `The registry ${this.registry} refused access to ${what}${suffix}: ${fix}`,
        { status: res.status },
      );
    }
    if (res.status === 404) return new RegistryError('not-found', `The registry ${this.registry} has no ${what}${suffix}`, { status: 404 });
    return new RegistryError('protocol', `The registry ${this.registry} answered ${res.status} ${res.statusText} for ${what}${suffix}`, {
      status: res.status,
    });
  }

  private authorization(repository: string): Authorization | undefined {
    const value = this.tokens.get(repository) ?? this.basic;
    return value ? { value, origin: this.registryOrigin } : undefined;
  }

  private async authorize(challenge: Challenge | undefined, repository: string): Promise<void> {
    if (challenge?.scheme === 'basic') {
      if (!this.opts.credentials) return; // the retry fails with 401 and the error says what is missing
      this.basic = basicAuthorization(this.opts.credentials);
      return;
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) {
      throw new RegistryError('protocol', `The registry ${this.registry} asked for authentication without a usable challenge`);
    }
    this.tokens.set(repository, `Bearer ${await this.fetchToken(challenge, repository)}`);
  }

  /** Anonymous unless credentials were given: Docker Hub and most registries hand out pull tokens for public images. */
  private async fetchToken(challenge: Challenge, repository: string | undefined): Promise<string> {
    const { realm, service } = challenge.params;
    let url: URL;
    try {
      url = new URL(realm);
    } catch (e) {
      throw new RegistryError('protocol', `The registry ${this.registry} named an invalid token realm ${quote(realm)}`, { cause: e });
    }
    checkUrl(url, this.opts.insecureRegistries ?? [], 'token endpoint');
    if (service) url.searchParams.set('service', service);
    // A login asks for no scope, as docker's: the token endpoint then only checks the credentials.
    const scope =
      repository === undefined
        ? challenge.params.scope
        : this.opts.push
          ? pushScope(repository)
          : (challenge.params.scope ?? pullScope(repository));
    if (scope) url.searchParams.set('scope', scope);
    if (repository === undefined && this.opts.credentials) url.searchParams.set('account', this.opts.credentials.username);
    const auth = this.opts.credentials ? { value: basicAuthorization(this.opts.credentials), origin: url.origin } : undefined;
    const res = await this.send(url, { accept: 'application/json' }, auth, `a token from ${url.origin}${url.pathname}`);
    if (!res.ok) {
      const detail = await registryMessage(res);
      throw new RegistryError(
        res.status === 401 || res.status === 403 ? 'unauthorized' : 'protocol',
        `The token endpoint ${url.origin}${url.pathname} of ${this.registry} answered ${res.status}${detail ? ` (${quote(detail)})` : ''}${this.opts.credentials ? ': check the credentials' : ''}`,
        { status: res.status },
      );
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (e) {
      throw new RegistryError('protocol', `The token endpoint ${url.origin}${url.pathname} answered with invalid JSON`, { cause: e });
    }
    return tokenFrom(body, `${url.origin}${url.pathname}`);
  }

  /** The base URL, found by pinging /v2/: any answer from a registry (200, 401) settles the scheme. */
  private endpoint(): Promise<string> {
    this.base ??= this.ping();
    return this.base;
  }

  private async ping(): Promise<string> {
    const host = apiHost(this.registry);
    const schemes = schemesFor(this.registry, this.opts.insecureRegistries);
    let last: unknown;
    for (const scheme of schemes) {
      const base = `${scheme}://${host}`;
      try {
        const res = await this.send(new URL(`${base}/v2/`), {}, undefined);
        await res.body?.cancel();
        if (res.ok || res.status === 401) {
          this.registryOrigin = base;
          return base;
        }
        last = new RegistryError(
          'protocol',
          `${base}/v2/ answered ${res.status} ${res.statusText}: is ${this.registry} a container registry?`,
          { status: res.status },
        );
      } catch (e) {
        if (!(e instanceof RegistryError && e.failure === 'unreachable')) throw e;
        last = e;
      }
    }
    const why = causeText(last);
    if (/CERT|certificate|self.signed/i.test(why)) {
      throw new RegistryError(
        'insecure',
        `The registry ${this.registry} has a TLS certificate this machine does not trust (${why}); add its CA with NODE_EXTRA_CA_CERTS=FILE`,
        { cause: last },
      );
    }
    if (schemes.length === 1 && /SSL|TLS|EPROTO|wrong version/i.test(why)) {
      throw new RegistryError(
        'insecure',
        `The registry ${this.registry} does not speak https (${why}); if it serves plain http, allow it with --insecure-registry ${this.registry}`,
        { cause: last },
      );
    }
    throw last;
  }

  /**
   * One request, following redirects by hand: blob downloads are commonly redirected to a storage host, which
   * must not receive the registry's credentials, and must obey the same https rule. Each hop must answer
   * within the connect timeout, and its body then never go quiet for the idle timeout: a registry that
   * stalls fails the request instead of hanging it.
   */
  private async send(
    url: URL,
    headers: Record<string, string>,
    authorization: Authorization | undefined,
    what = url.pathname,
    init: RequestBody = { method: 'GET' },
  ): Promise<Response> {
    const insecure = this.opts.insecureRegistries ?? [];
    let current = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      checkUrl(current, insecure, hop === 0 ? `registry ${this.registry}` : `redirect target of ${this.registry}`);
      const h: Record<string, string> = { 'user-agent': 'berth', ...headers };
      if (authorization && current.origin === authorization.origin) h.authorization = authorization.value;
      const request = new AbortController();
      const signal = this.opts.signal ? AbortSignal.any([this.opts.signal, request.signal]) : request.signal;
      const host = current.host;
      const seconds = this.timeouts.connect;
      const noAnswer = new RegistryError(
        'timeout',
        `Registry ${host} did not answer within ${seconds} s while berth asked for ${what}; check the registry or raise ${CONNECT_TIMEOUT_ENV}`,
      );
      const timer = setTimeout(() => request.abort(noAnswer), seconds * 1000);
      const payload = init.body?.(() => timer.refresh());
      let res: Response;
      try {
        res = await fetch(current, {
          method: init.method,
          headers: h,
          body: payload,
          redirect: 'manual',
          signal,
          // undici streams a request body only half-duplex, and says so
          ...(payload ? { duplex: 'half' } : {}),
        });
      } catch (e) {
        if (request.signal.aborted) throw noAnswer;
        if (this.opts.signal?.aborted) throw this.opts.signal.reason ?? e;
        throw new RegistryError('unreachable', `Cannot reach the registry ${this.registry} at ${current.origin}: ${causeText(e)}`, {
          cause: e,
        });
      } finally {
        clearTimeout(timer);
      }
      const location = res.headers.get('location');
      if (!REDIRECT.has(res.status) || !location) {
        if (!res.body || NULL_BODY.has(res.status)) return res;
        const idle = this.timeouts.idle;
        const body = idleTimed(res.body, idle * 1000, () => {
          const e = new RegistryError(
            'timeout',
            `Registry ${host} sent nothing for ${idle} s while downloading ${what}; check the registry or raise ${IDLE_TIMEOUT_ENV}`,
          );
          request.abort(e);
          return e;
        });
        return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
      }
      await res.body?.cancel();
      current = new URL(location, current);
    }
    throw new RegistryError('protocol', `The registry ${this.registry} redirected ${url.pathname} more than ${MAX_REDIRECTS} times`);
  }
}

/** fetch wraps the useful part ("connect ECONNREFUSED 127.0.0.1:5000") in the cause of a TypeError. */
export function causeText(e: unknown): string {
  const cause = (e as { cause?: unknown } | undefined)?.cause;
  const inner = cause instanceof Error ? cause : e instanceof Error ? e : undefined;
  if (!inner) return String(e);
  const code = (inner as NodeJS.ErrnoException).code;
  return code && !inner.message.includes(code) ? `${code}: ${inner.message}` : inner.message;
}

async function readLimited(res: Response, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) throw new RegistryError('protocol', `${what} is ${declared} bytes, more than the ${limit} berth accepts`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.length;
    if (size > limit) {
      await res.body?.cancel();
      throw new RegistryError('protocol', `${what} is more than the ${limit} bytes berth accepts`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
