// docker's copy-up with real containers: a new (empty) volume mounted where the image has a
// directory gets the image's content there, merged over the layers (a deletion in the upper layer
// stays deleted), modes, owners and symlinks as they are; never again once the volume has content;
// not with nocopy. The image: busybox plus a committed layer with /data and a deletion in /etc.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
    for (const v of b.listVolumes()) b.removeVolume(v.Name);
  },
});
let roots: TempRoots;
const cli = (args: string[]) => runCli(args, { roots });
const sh = (volume: string, script: string, image = 'layered') => cli(['run', '--rm', '-v', volume, image, 'sh', '-c', script]);
const data = (name: string) => path.join(roots.root, 'volumes', name, '_data');

const LAYER = [
  'mkdir -p /data/sub && echo a > /data/f && echo c > /data/sub/c',
  'chown 1000:1001 /data/f && chmod 640 /data/f && chmod 750 /data',
  'ln -s /etc/passwd /data/passwd && ln -s /data /datalink',
  'rm /etc/berth-fixture',
].join(' && ');

beforeAll(async () => {
  ({ roots } = fixture);
  const base = await cli(['run', '--name', 'base', 'busybox', 'sh', '-c', LAYER]);
  expect(base.code, base.stderr).toBe(0);
  const commit = await cli(['commit', 'base', 'layered']);
  expect(commit.code, commit.stderr).toBe(0);
  expect((await cli(['rm', 'base'])).code).toBe(0);
});

describe('copy-up into a new volume', () => {
  it("fills a new named volume with the image's directory: modes, owners, symlinks as links", async () => {
    const r = await sh('up:/data', 'stat -c "%a %u:%g %n" /data /data/f /data/sub/c; readlink /data/passwd; cat /data/f');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('750 0:0 /data\n640 1000:1001 /data/f\n644 0:0 /data/sub/c\n/etc/passwd\na\n');
    // on the host too, and the link is a link (never followed to the host's /etc/passwd)
    expect(fs.lstatSync(path.join(data('up'), 'passwd')).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(path.join(data('up'), 'passwd'))).toBe('/etc/passwd');
    expect(fs.statSync(data('up')).mode & 0o7777).toBe(0o750);
  });

  it('copies the merged layers: what the upper layer deleted stays deleted', async () => {
    const r = await sh('etcvol:/etc', 'ls /etc');
    expect(r.code, r.stderr).toBe(0);
    const listed = r.stdout.split('\n');
    expect(listed).toEqual(expect.arrayContaining(['group', 'passwd']));
    expect(listed).not.toContain('berth-fixture');
    expect(fs.existsSync(path.join(data('etcvol'), 'passwd'))).toBe(true);
    expect(fs.existsSync(path.join(data('etcvol'), 'berth-fixture'))).toBe(false);
  });

  it("copies busybox's /usr/bin applet links as links to /bin/busybox", async () => {
    const r = await sh('bins:/usr/bin', 'ls /usr/bin | wc -l; /usr/bin/env echo runs', 'busybox');
    expect(r.code, r.stderr).toBe(0);
    const [count, runs] = r.stdout.trim().split('\n');
    expect(Number(count)).toBeGreaterThan(20);
    expect(runs).toBe('runs');
    const env = path.join(data('bins'), 'env');
    expect(fs.lstatSync(env).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(env)).toBe('/bin/busybox');
  });

  it('copies not again once the volume has content, and never with nocopy', async () => {
    expect((await sh('once:/data', 'rm /data/f && echo mine > /data/new')).code).toBe(0);
    const second = await sh('once:/data', 'ls /data');
    expect(second.stdout.split('\n').filter(Boolean)).toEqual(['new', 'passwd', 'sub']);
    // mounted elsewhere: the image's content there is not added either
    expect((await sh('once:/etc', 'ls /etc')).stdout).not.toMatch(/^group$/m);
    const nc = await sh('nc:/data:nocopy', 'ls -A /data | wc -l');
    expect(nc.stdout.trim()).toBe('0');
    expect(fs.readdirSync(data('nc'))).toEqual([]);
  });

  it('fills a volume made empty by volume create, an anonymous one, and follows a symlinked path inside the image', async () => {
    expect((await cli(['volume', 'create', 'pre'])).code).toBe(0);
    expect((await sh('pre:/data', 'cat /data/f')).stdout).toBe('a\n');
    const anon = await cli(['run', '--name', 'anon', '-v', '/data', 'layered', 'cat', '/data/sub/c']);
    expect(anon.stdout).toBe('c\n');
    expect((await cli(['rm', '-v', 'anon'])).code).toBe(0);
    // /datalink -> /data in the image: its content is the image's /data
    expect((await sh('linked:/datalink', 'cat /datalink/f')).stdout).toBe('a\n');
    expect(fs.readFileSync(path.join(data('linked'), 'f'), 'utf8')).toBe('a\n');
  });

  it('leaves a volume empty where the image has no such directory', async () => {
    expect((await sh('none:/nothing-here', 'ls -A /nothing-here | wc -l')).stdout.trim()).toBe('0');
  });
});
