// berth cp and docker cp (through berth system service), both directions, running and stopped
// containers, tar streams with '-', ownership, and the container's symlinks resolved inside it:
// a link to /etc/passwd copies the container's file and a write through a link to /etc lands in
// the container's /etc, never the host's; a path that climbs out with '..' is refused.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';
import { docker as dockerCli, request, startTestService, type TestService } from '../helpers/service';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
  },
});
let roots: TempRoots;
let service: TestService;
let work: string;
beforeAll(async () => {
  roots = fixture.roots;
  service = await startTestService(roots);
  work = path.join(roots.base, 'cp-work');
  fs.mkdirSync(work);
});
afterAll(async () => {
  await service?.stop();
});

const docker = (args: string[], opts: { input?: string | Buffer } = {}) => dockerCli(service, roots, args, opts);
const berth = (args: string[], input?: string | Buffer) =>
  runCli(['--runroot', roots.runRoot, ...args], { roots, ...(input === undefined ? {} : { input }) });
const api = (method: string, p: string) => request(service.socket, method, p);
const fresh = (name: string) => {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  return dir;
};
const tarList = (tarFile: string) => execFileSync('tar', ['-tvf', tarFile], { encoding: 'utf8' });

async function running(name: string, setup = 'true'): Promise<string> {
  const r = await docker(['run', '-d', '--name', name, 'busybox', 'sh', '-c', `${setup}; exec sleep 1000`]);
  expect(r.stderr).toBe('');
  // the setup has run once the container answers an exec after it
  for (let i = 0; i < 50; i++) {
    if ((await docker(['exec', name, 'test', '-e', '/tmp/.ready'])).code === 0) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  return r.stdout.trim();
}
const SETUP_LINKS =
  'echo berth-container-marker >> /etc/passwd; ln -s /etc/passwd /evil; mkdir /data; ln -s /etc /data/etclink; ln -s ../../../../../../etc /data/climb; touch /tmp/.ready';

describe('cp', () => {
  it('berth cp copies files and directories both ways, with tar streams and ownership', async () => {
    await running('cp1', 'mkdir -p /srv/tree/sub && echo deep > /srv/tree/sub/f && chown -R 4321:8765 /srv/tree && touch /tmp/.ready');
    const out = fresh('berth-out');
    expect((await berth(['cp', 'cp1:/srv/tree', out])).code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'tree/sub/f'), 'utf8')).toBe('deep\n');
    expect(fs.statSync(path.join(out, 'tree/sub/f'))).toMatchObject({ uid: 4321, gid: 8765 });
    // to a new name, and a directory's content with /.
    expect((await berth(['cp', 'cp1:/srv/tree', path.join(out, 'renamed')])).code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'renamed/sub/f'), 'utf8')).toBe('deep\n');
    expect((await berth(['cp', 'cp1:/srv/tree/.', path.join(out, 'content')])).code).toBe(0);
    expect(fs.readdirSync(path.join(out, 'content'))).toEqual(['sub']);

    const src = fresh('berth-in');
    fs.mkdirSync(path.join(src, 'pkg'));
    fs.writeFileSync(path.join(src, 'pkg/owned'), 'mine\n');
    fs.chownSync(path.join(src, 'pkg/owned'), 1234, 5678);
    fs.chmodSync(path.join(src, 'pkg/owned'), 0o640);
    fs.symlinkSync('owned', path.join(src, 'pkg/link'));
    expect((await berth(['cp', '-a', path.join(src, 'pkg'), 'cp1:/tmp'])).code).toBe(0);
    const listed = await docker([
      'exec',
      'cp1',
      'sh',
      '-c',
      'stat -c "%n %u %g %a" /tmp/pkg/owned; readlink /tmp/pkg/link; cat /tmp/pkg/owned',
    ]);
    expect(listed.stdout).toBe('/tmp/pkg/owned 1234 5678 640\nowned\nmine\n');

    // '-': a tar of the container's path to stdout, and a tar from stdin extracted into a directory
    const r = await berth(['cp', 'cp1:/srv/tree', '-']);
    expect(r.code).toBe(0);
    const tarFile = path.join(work, 'tree.tar');
    fs.writeFileSync(tarFile, r.stdout, 'latin1');
    expect(tarList(tarFile)).toMatch(/4321\/8765 .* tree\/sub\/f/);
    const inTar = execFileSync('tar', ['-cf', '-', '-C', src, 'pkg']);
    expect((await berth(['cp', '-', 'cp1:/srv'], inTar)).code).toBe(0);
    expect((await docker(['exec', 'cp1', 'cat', '/srv/pkg/owned'])).stdout).toBe('mine\n');
  });

  it('docker cp both ways, with - streams', async () => {
    await running('cp2', 'echo from-container > /root/note; touch /tmp/.ready');
    const out = fresh('docker-out');
    expect(await docker(['cp', 'cp2:/root/note', path.join(out, 'note')])).toMatchObject({ code: 0 });
    expect(fs.readFileSync(path.join(out, 'note'), 'utf8')).toBe('from-container\n');
    const tar = await docker(['cp', 'cp2:/root', '-']);
    expect(tar.code).toBe(0);
    fs.writeFileSync(path.join(work, 'root.tar'), tar.stdout, 'latin1');
    expect(tarList(path.join(work, 'root.tar'))).toMatch(/root\/note/);

    fs.writeFileSync(path.join(out, 'upload'), 'to-container\n');
    expect(await docker(['cp', path.join(out, 'upload'), 'cp2:/tmp/uploaded'])).toMatchObject({ code: 0 });
    expect((await docker(['exec', 'cp2', 'cat', '/tmp/uploaded'])).stdout).toBe('to-container\n');
    const inTar = execFileSync('tar', ['-cf', '-', '-C', out, 'upload']);
    expect(await docker(['cp', '-', 'cp2:/root'], { input: inTar })).toMatchObject({ code: 0 });
    expect((await docker(['exec', 'cp2', 'cat', '/root/upload'])).stdout).toBe('to-container\n');
    const missing = await docker(['cp', 'cp2:/no/such/file', out]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/No such container:path: cp2:\/no\/such\/file|Could not find the file/);
  });

  it('resolves symlinks inside the container, never on the host', async () => {
    await running('cp3', SETUP_LINKS);
    const out = fresh('links');
    const hostPasswd = fs.readFileSync('/etc/passwd', 'utf8');
    expect(hostPasswd).not.toContain('berth-container-marker');
    // -L: what the link points to, in the container
    expect((await docker(['cp', '-L', 'cp3:/evil', path.join(out, 'followed')])).code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'followed'), 'utf8')).toContain('berth-container-marker');
    // without -L the link itself
    expect((await docker(['cp', 'cp3:/evil', path.join(out, 'link')])).code).toBe(0);
    expect(fs.readlinkSync(path.join(out, 'link'))).toBe('/etc/passwd');
    // a link in the middle of the path: absolute, and relative with more '..' than there are levels
    for (const via of ['/data/etclink/passwd', '/data/climb/passwd']) {
      expect((await docker(['cp', `cp3:${via}`, path.join(out, 'via')])).code).toBe(0);
      expect(fs.readFileSync(path.join(out, 'via'), 'utf8')).toContain('berth-container-marker');
      fs.rmSync(path.join(out, 'via'));
    }
    expect((await berth(['cp', '-L', 'cp3:/evil', path.join(out, 'berth-followed')])).code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'berth-followed'), 'utf8')).toContain('berth-container-marker');
    // writes through a link to /etc land in the container's /etc
    fs.writeFileSync(path.join(out, 'berth-cp-probe'), 'probe\n');
    expect((await docker(['cp', path.join(out, 'berth-cp-probe'), 'cp3:/data/etclink/'])).code).toBe(0);
    expect((await berth(['cp', path.join(out, 'berth-cp-probe'), 'cp3:/data/climb/'])).code).toBe(0);
    expect(fs.existsSync('/etc/berth-cp-probe')).toBe(false);
    expect((await docker(['exec', 'cp3', 'cat', '/etc/berth-cp-probe'])).stdout).toBe('probe\n');
  });

  it('refuses a path that climbs out with .. and answers docker’s statuses', async () => {
    const id = await running('cp4', 'touch /tmp/.ready');
    const climb = await api('GET', `/containers/cp4/archive?path=${encodeURIComponent('/../../../../etc/passwd')}`);
    expect(climb.status).toBe(400);
    expect((climb.json as { message: string }).message).toMatch(/climbs above the container's root/);
    expect((await api('HEAD', `/containers/cp4/archive?path=${encodeURIComponent('/tmp/../../etc/shadow')}`)).status).toBe(400);
    const missing = await api('GET', '/containers/cp4/archive?path=/no-such');
    expect(missing).toMatchObject({ status: 404, json: { message: 'Could not find the file /no-such in container cp4' } });
    expect((await api('GET', '/containers/cp4/archive')).status).toBe(400);
    const head = await api('HEAD', '/containers/cp4/archive?path=/etc');
    expect(head.status).toBe(200);
    const stat = JSON.parse(Buffer.from(String(head.headers['x-docker-container-path-stat']), 'base64').toString());
    expect(stat).toMatchObject({ name: 'etc', linkTarget: '' });
    expect(stat.mode).toBeGreaterThanOrEqual(2 ** 31); // Go's os.ModeDir
    expect((await berth(['cp', 'cp4:/../etc/passwd', work])).stderr).toMatch(/climbs above the container's root/);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('copies out of and into a stopped container: its write layer over its image', async () => {
    // (once: the command runs again at the restart below)
    await running('cp5', '[ -e /kept ] || { rm /etc/berth-fixture; mkdir /kept && echo v1 > /kept/file; }; touch /tmp/.ready');
    expect((await docker(['stop', '-t', '0', 'cp5'])).code).toBe(0);
    const out = fresh('stopped');
    expect((await docker(['cp', 'cp5:/etc', out])).code).toBe(0);
    // the image's file the container deleted stays deleted; the image's others are there
    expect(fs.existsSync(path.join(out, 'etc/berth-fixture'))).toBe(false);
    expect(fs.readFileSync(path.join(out, 'etc/passwd'), 'utf8')).toMatch(/^root:/);
    expect((await berth(['cp', 'cp5:/kept/file', path.join(out, 'file')])).code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'file'), 'utf8')).toBe('v1\n');
    fs.writeFileSync(path.join(out, 'berth-fixture'), 'restored\n');
    expect((await docker(['cp', path.join(out, 'berth-fixture'), 'cp5:/etc/'])).code).toBe(0);
    fs.mkdirSync(path.join(out, 'newdir'));
    fs.writeFileSync(path.join(out, 'newdir/inside'), 'in\n');
    expect((await berth(['cp', path.join(out, 'newdir'), 'cp5:/usr/'])).code).toBe(0);
    expect((await docker(['start', 'cp5'])).code).toBe(0);
    const seen = await docker([
      'exec',
      'cp5',
      'sh',
      '-c',
      'cat /etc/berth-fixture /usr/newdir/inside; test -e /usr/bin/ar && echo image-kept',
    ]);
    expect(seen.stdout).toBe('restored\nin\nimage-kept\n');
  });
});
