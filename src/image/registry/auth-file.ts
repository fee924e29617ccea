import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError, invalid } from '../../errors';
import type { Credentials } from './auth';
import { quote } from '../../util/quote';

/** Docker's config.json shape, so a user can copy an entry across: {"auths": {"HOST": {"auth": base64("user:pass")}}}. */
interface AuthJson {
  auths?: Record<string, { auth?: string }>;
}

const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;

/**
 * The registry as references name it, from what people type after `docker login`: "docker.io" for Docker
 * Hub under any of its spellings, the host (with port) otherwise; a scheme or path is dropped.
 */
export function registryKey(input: string | undefined): string {
  if (input === undefined || input === '') return 'docker.io';
  const host = input.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (!HOST.test(host)) throw invalid('the registry', 'a registry host like registry.example.com or localhost:5000', input);
  if (['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com', 'docker.io'].includes(host.toLowerCase())) return 'docker.io';
  return host.toLowerCase();
}

/**
 * root/auth.json: registry credentials, 0600 (they are passwords, in base64 as docker keeps them). Replaced
 * atomically: written to a 0600 temp file created exclusively (never an existing file with other modes),
 * fsynced, renamed. Callers hold the store lock around read-modify-write.
 */
export class AuthFile {
  readonly file: string;

  constructor(root: string) {
    this.file = path.join(root, 'auth.json');
  }

  get(registry: string): Credentials | undefined {
    const entry = this.read().auths?.[registry]?.auth;
    if (!entry) return undefined;
    const decoded = Buffer.from(entry, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }

  set(registry: string, c: Credentials): void {
    const json = this.read();
    json.auths = { ...(json.auths ?? {}), [registry]: { auth: Buffer.from(`${c.username}:${c.password}`).toString('base64') } };
    this.write(json);
  }

  /** False when there was nothing stored for the registry. */
  remove(registry: string): boolean {
    const json = this.read();
    if (!json.auths?.[registry]) return false;
    delete json.auths[registry];
    this.write(json);
    return true;
  }

  private read(): AuthJson {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    try {
      const v = JSON.parse(text) as AuthJson;
      return v && typeof v === 'object' ? v : {};
    } catch (e) {
      throw new BerthError('INVALID_ARGUMENT', `${quote(this.file)} is not valid JSON; fix or delete it, then log in again`, { cause: e });
    }
  }

  private write(json: AuthJson): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = path.join(path.dirname(this.file), `.auth.json.${process.pid}.tmp`);
    fs.rmSync(tmp, { force: true });
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    try {
      fs.fchmodSync(fd, 0o600); // the umask cannot widen it, but be explicit about what this file is
      fs.writeFileSync(fd, `${JSON.stringify(json, null, 2)}\n`);
      fs.fsyncSync(fd);
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    fs.closeSync(fd);
    try {
      fs.renameSync(tmp, this.file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  }
}
