import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthFile, registryKey } from '../../src/image/registry/auth-file';
import { ShortLinks } from '../../src/image/store/short-links';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-auth-unit-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('registryKey', () => {
  it('names registries as references do: Docker Hub under any spelling is docker.io; scheme and path dropped', () => {
    expect(registryKey(undefined)).toBe('docker.io');
    expect(registryKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(registryKey('registry-1.docker.io')).toBe('docker.io');
    expect(registryKey('http://127.0.0.1:5000/')).toBe('127.0.0.1:5000');
    expect(registryKey('Registry.Example.com')).toBe('registry.example.com');
    expect(() => registryKey('not a host')).toThrow(
      'Expected a registry host like registry.example.com or localhost:5000 for the registry but received "not a host"',
    );
  });
});

describe('AuthFile', () => {
  it('stores credentials as docker does, 0600 even under a permissive umask, replacing the file atomically', () => {
    const auth = new AuthFile(tmp);
    expect(auth.get('docker.io')).toBeUndefined();
    const old = process.umask(0);
    try {
      auth.set('127.0.0.1:5000', { username: 'u', password: 'p:with:colons' });
      auth.set('docker.io', { username: 'hub', password: 'x' });
    } finally {
      process.umask(old);
    }
    expect(fs.statSync(auth.file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(tmp)).toEqual(['auth.json']);
    expect(JSON.parse(fs.readFileSync(auth.file, 'utf8')).auths['127.0.0.1:5000']).toEqual({
      auth: Buffer.from('u:p:with:colons').toString('base64'),
    });
    expect(new AuthFile(tmp).get('127.0.0.1:5000')).toEqual({ username: 'u', password: 'p:with:colons' });
    expect(auth.remove('127.0.0.1:5000')).toBe(true);
    expect(auth.remove('127.0.0.1:5000')).toBe(false);
    expect(auth.get('docker.io')).toEqual({ username: 'hub', password: 'x' });
  });

  it('names the file and the fix when it is not JSON', () => {
    fs.writeFileSync(path.join(tmp, 'auth.json'), '{oops');
    expect(() => new AuthFile(tmp).get('docker.io')).toThrow(
      `${JSON.stringify(path.join(tmp, 'auth.json'))} is not valid JSON; fix or delete it, then log in again`,
    );
  });
});

describe('ShortLinks', () => {
  it('gives each layer a stable 8-character name whose symlink leads to its diff dir, recreated when missing, removed with it', () => {
    const layers = path.join(tmp, 'layers');
    const a = path.join(layers, 'a'.repeat(64));
    const b = path.join(layers, 'b'.repeat(64));
    for (const d of [a, b]) fs.mkdirSync(path.join(d, 'diff'), { recursive: true });
    fs.writeFileSync(path.join(a, 'diff', 'marker'), 'a');
    const links = new ShortLinks(tmp, layers);
    expect(links.existing(a)).toBeUndefined();
    const la = links.ensure(a);
    const lb = links.ensure(b);
    expect(la).toMatch(/\/l\/[A-Z0-9]{8}$/);
    expect(la).not.toBe(lb);
    expect(fs.readFileSync(path.join(la, 'marker'), 'utf8')).toBe('a');
    expect(fs.readlinkSync(la)).toBe(`../layers/${'a'.repeat(64)}/diff`);
    expect(links.ensure(a)).toBe(la);
    fs.unlinkSync(la);
    expect(links.existing(a)).toBeUndefined();
    expect(links.ensure(a)).toBe(la);
    links.drop(a);
    expect(fs.existsSync(la)).toBe(false);
    fs.rmSync(b, { recursive: true });
    expect(links.removeDangling()).toEqual([path.basename(lb)]);
    expect(fs.readdirSync(path.join(tmp, 'l'))).toEqual([]);
  });
});
