// Named and anonymous volumes with real containers: `berth volume create|ls|inspect|rm|prune`,
// `run -v NAME:/path` and `-v /path`, `rm -v`, `--rm`, the in-use refusal naming the container,
// inspect's mounts; bad input one line, exit 125, nothing left behind. Copy-up: volumes-copy-up.test.ts.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/index';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';
import { busyboxTar } from '../helpers/fixtures';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
    for (const v of b.listVolumes()) b.removeVolume(v.Name);
  },
});
let roots: TempRoots;
let berth: Berth;
beforeAll(() => {
  ({ berth, roots } = fixture);
});

const cli = (args: string[]) => runCli(args, { roots });
const names = async (args: string[] = []) => (await cli(['volume', 'ls', '-q', ...args])).stdout.split('\n').filter(Boolean);
const volumesDir = () => path.join(roots.root, 'volumes');

describe('named volumes', () => {
  it('keeps what one container wrote for the next; the volume is made by run and listed', async () => {
    const w = await cli(['run', '--rm', '-v', 'shared:/data', 'busybox', 'sh', '-c', 'echo hello > /data/f']);
    expect(w.code, w.stderr).toBe(0);
    expect(await names()).toEqual(['shared']);
    const r = await cli(['run', '--rm', '-v', 'shared:/mnt:ro', 'busybox', 'sh', '-c', 'cat /mnt/f; touch /mnt/g 2>/dev/null || echo ro']);
    expect(r.stdout).toBe('hello\nro\n');
    expect(fs.readFileSync(path.join(volumesDir(), 'shared', '_data', 'f'), 'utf8')).toBe('hello\n');
    // --rm leaves a named volume alone
    expect(await names()).toEqual(['shared']);
  });

  it("volume create: a given name or 64 hex digits; inspect in docker's shape", async () => {
    const made = await cli(['volume', 'create', '--label', 'tier=db', '-l', 'backup', 'dbdata']);
    expect(made).toMatchObject({ code: 0, stdout: 'dbdata\n' });
    const gen = await cli(['volume', 'create']);
    expect(gen.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const again = await cli(['volume', 'create', 'dbdata']); // docker: the existing volume, as it is
    expect(again).toMatchObject({ code: 0, stdout: 'dbdata\n' });
    const ins = await cli(['volume', 'inspect', 'dbdata', gen.stdout.trim()]);
    expect(ins.code, ins.stderr).toBe(0);
    const [db, other] = JSON.parse(ins.stdout) as Array<Record<string, unknown>>;
    expect(Object.keys(db).sort()).toEqual(['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
    expect(db).toMatchObject({
      Name: 'dbdata',
      Driver: 'local',
      Mountpoint: path.join(volumesDir(), 'dbdata', '_data'),
      Labels: { tier: 'db', backup: '' },
      Scope: 'local',
      Options: {},
    });
    expect(Date.parse(db.CreatedAt as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(other.Name).toBe(gen.stdout.trim());
    expect(fs.statSync(db.Mountpoint as string).isDirectory()).toBe(true);
    const ls = await cli(['volume', 'ls']);
    expect(ls.stdout.split('\n')[0]).toMatch(/^DRIVER\s+VOLUME NAME$/);
    expect(ls.stdout).toMatch(/^local\s+dbdata$/m);
    const some = await cli(['volume', 'inspect', 'nosuch', 'dbdata']);
    expect(some.code).toBe(125);
    expect(some.stderr).toBe('berth: No such volume: "nosuch"\n');
    expect((JSON.parse(some.stdout) as Array<{ Name: string }>).map((v) => v.Name)).toEqual(['dbdata']);
  });

  it('ls -f: name, label and dangling', async () => {
    for (const args of [['--label', 'app=web', 'web-data'], ['--label', 'app=db', 'db-data'], ['cache']]) {
      expect((await cli(['volume', 'create', ...args])).code).toBe(0);
    }
    expect((await cli(['create', '--name', 'user', '-v', 'db-data:/d', 'busybox', 'true'])).code).toBe(0);
    expect(await names(['-f', 'name=data'])).toEqual(['db-data', 'web-data']);
    expect(await names(['-f', 'label=app'])).toEqual(['db-data', 'web-data']);
    expect(await names(['-f', 'label=app=web'])).toEqual(['web-data']);
    expect(await names(['-f', 'dangling=true'])).toEqual(['cache', 'web-data']);
    expect(await names(['-f', 'dangling=false'])).toEqual(['db-data']);
    expect(await names(['-f', 'dangling=true', '-f', 'label=app'])).toEqual(['web-data']);
    const bad = await cli(['volume', 'ls', '-f', 'color=red']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: Invalid filter "color=red"; expected name=\.\.\., label=\.\.\., dangling=\.\.\., driver=\.\.\.\n$/);
  });

  it('refuses to remove a volume a stopped or running container uses, naming it', async () => {
    expect((await cli(['run', '--name', 'holder', '-v', 'busy:/data', 'busybox', 'true'])).code).toBe(0);
    const rm = await cli(['volume', 'rm', 'busy']);
    expect(rm.code).toBe(125);
    expect(rm.stderr).toMatch(
      /^berth: Volume "busy" is in use by container "holder" \([0-9a-f]{12}\); remove the container first \(berth rm holder\)\n$/,
    );
    expect(await names()).toEqual(['busy']);
    const d = await cli(['run', '-d', '--name', 'runner', '-v', 'busy:/data', 'busybox', 'sleep', '30']);
    expect(d.code, d.stderr).toBe(0);
    expect((await cli(['rm', 'holder'])).code).toBe(0);
    expect((await cli(['volume', 'rm', 'busy'])).stderr).toMatch(/in use by container "runner"/);
    expect((await cli(['rm', '-f', 'runner'])).code).toBe(0);
    expect(await cli(['volume', 'rm', 'busy'])).toMatchObject({ code: 0, stdout: 'busy\n' });
    expect(fs.existsSync(path.join(volumesDir(), 'busy'))).toBe(false);
    const missing = await cli(['volume', 'rm', 'busy']);
    expect(missing).toMatchObject({ code: 125, stderr: 'berth: No such volume: "busy"\n' });
    expect((await cli(['volume', 'rm', '-f', 'busy'])).code).toBe(0);
  });

  it('refuses bad names in one line with 125, leaving no container and no volume', async () => {
    const create = await cli(['volume', 'create', 'x']);
    expect(create.code).toBe(125);
    expect(create.stderr).toMatch(/^berth: "x" includes invalid characters for a local volume name[^\n]*\n$/);
    const dup = await cli(['create', '-v', 'one1:/d', '-v', '/tmp:/d/', 'busybox', 'true']);
    expect(dup.stderr).toBe('berth: Duplicate mount point "/d": two --volume mount there; keep one\n');
    for (const spec of ['bad name:/d', '_x:/d', 'a:/d', 'ok-name:/d:bogus']) {
      const r = await cli(['create', '--name', 'never', '-v', spec, 'busybox', 'true']);
      expect(r.code, spec).toBe(125);
      expect(r.stderr.split('\n').length, r.stderr).toBe(2);
    }
    expect(await names()).toEqual([]);
    expect(berth.ps({ all: true })).toEqual([]);
    // a create that fails after its volumes were made (the name is taken) takes them back
    expect((await cli(['create', '--name', 'taken', 'busybox', 'true'])).code).toBe(0);
    const taken = await cli(['create', '--name', 'taken', '-v', 'fresh:/d', '-v', '/anon', 'busybox', 'true']);
    expect(taken.code).toBe(125);
    expect(await names()).toEqual([]);
  });

  it('a volume rm racing a create that mounts the volume never leaves the container without it', async () => {
    for (let i = 0; i < 4; i++) {
      expect((await cli(['volume', 'create', 'contested'])).code).toBe(0);
      const [c, r] = await Promise.all([
        cli(['create', '--name', `racer${i}`, '-v', 'contested:/d', 'busybox', 'true']),
        cli(['volume', 'rm', 'contested']),
      ]);
      expect(c.code, c.stderr).toBe(0);
      // rm ran first (and the create made the volume again), or it saw the container
      if (r.code !== 0) expect(r.stderr).toMatch(/in use by container "racer/);
      expect(await names()).toEqual(['contested']);
      expect((await cli(['rm', `racer${i}`])).code).toBe(0);
    }
  });

  it('concurrent creates of one name all succeed with one volume', async () => {
    const rs = await Promise.all([1, 2, 3, 4].map(() => cli(['volume', 'create', 'race'])));
    expect(rs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect(fs.readdirSync(volumesDir()).filter((n) => !n.startsWith('.'))).toEqual(['race']);
  });
});

describe('anonymous volumes', () => {
  it('-v /data is a volume of its own, shown by inspect, kept by rm, removed by rm -v', async () => {
    const c = await cli([
      'create',
      '--name',
      'anon',
      '-v',
      '/data',
      '-v',
      'named-one:/n',
      '-v',
      `${roots.root}/bind:/b`,
      'busybox',
      'true',
    ]);
    expect(c.code, c.stderr).toBe(0);
    const [vol] = await names(['-f', 'label=com.docker.volume.anonymous']);
    expect(vol).toMatch(/^[0-9a-f]{64}$/);
    const mounts = berth.inspect('anon').mounts;
    expect(mounts).toEqual([
      {
        Type: 'volume',
        Name: vol,
        Driver: 'local',
        Source: path.join(volumesDir(), vol, '_data'),
        Destination: '/data',
        Mode: '',
        RW: true,
        Propagation: '',
      },
      {
        Type: 'volume',
        Name: 'named-one',
        Driver: 'local',
        Source: path.join(volumesDir(), 'named-one', '_data'),
        Destination: '/n',
        Mode: '',
        RW: true,
        Propagation: '',
      },
      { Type: 'bind', Source: `${roots.root}/bind`, Destination: '/b', Mode: '', RW: true, Propagation: 'rprivate' },
    ]);
    const cliInspect = JSON.parse((await cli(['inspect', 'anon'])).stdout) as Array<{ Mounts: unknown }>;
    expect(cliInspect[0].Mounts).toEqual(mounts);
    expect((await cli(['start', '-a', 'anon'])).code).toBe(0);
    expect((await cli(['rm', 'anon'])).code).toBe(0);
    expect(await names()).toEqual([vol, 'named-one'].sort());
    const again = await cli(['create', '--name', 'anon2', '-v', '/data', 'busybox', 'true']);
    const [vol2] = await names(['-f', 'dangling=false']);
    expect(again.code).toBe(0);
    expect((await cli(['rm', '-v', 'anon2'])).code).toBe(0);
    expect(await names()).not.toContain(vol2);
    expect(fs.existsSync(path.join(volumesDir(), vol2))).toBe(false);
    // named volumes stay with rm -v
    expect(await names()).toContain('named-one');
  });

  it('--rm removes the anonymous volumes of a foreground and of a detached container', async () => {
    const fg = await cli(['run', '--rm', '-v', '/scratch', '-v', 'keep-me:/k', 'busybox', 'sh', '-c', 'echo x > /scratch/f']);
    expect(fg.code, fg.stderr).toBe(0);
    expect(await names()).toEqual(['keep-me']);
    const d = await cli(['run', '-d', '--rm', '-v', '/scratch', 'busybox', 'true']);
    expect(d.code, d.stderr).toBe(0);
    // the shim removes the container, then its exit command the volume
    for (let i = 0; i < 100 && (await names()).length > 1; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await names()).toEqual(['keep-me']);
  });

  it('volume prune: unused anonymous volumes; --all every unused one; never one in use', async () => {
    expect((await cli(['create', '--name', 'p1', '-v', '/a', 'busybox', 'true'])).code).toBe(0);
    const [used] = await names();
    expect((await cli(['rm', 'p1'])).code).toBe(0); // its volume is unused now
    expect((await cli(['create', '--name', 'p2', '-v', '/b', '-v', 'named-used:/n', 'busybox', 'true'])).code).toBe(0);
    expect((await cli(['volume', 'create', 'named-unused'])).code).toBe(0);
    fs.writeFileSync(path.join(volumesDir(), used, '_data', 'f'), 'x'.repeat(2000));
    const p = await cli(['volume', 'prune', '-f']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toBe(`Deleted Volumes:\n${used}\n\nTotal reclaimed space: 2kB\n`);
    expect(await names()).toHaveLength(3);
    const all = await cli(['volume', 'prune', '--all', '-f']);
    expect(all.stdout).toBe('Deleted Volumes:\nnamed-unused\n\nTotal reclaimed space: 0B\n');
    const left = await names();
    expect(left).toHaveLength(2);
    expect(left).toContain('named-used');
    expect((await cli(['volume', 'prune', '-f'])).stdout).toBe('Total reclaimed space: 0B\n');
  });
});

describe("the image's Volumes", () => {
  /** busybox as a docker-archive whose config declares VOLUME /etc and /cache, loaded as withvol. */
  beforeAll(async () => {
    const dir = path.join(roots.root, 'withvol-archive');
    fs.mkdirSync(dir);
    fs.copyFileSync(busyboxTar(), path.join(dir, 'layer.tar'));
    const diffId = `sha256:${createHash('sha256')
      .update(fs.readFileSync(path.join(dir, 'layer.tar')))
      .digest('hex')}`;
    const config = {
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'], Volumes: { '/etc': {}, '/cache': {} } },
      rootfs: { type: 'layers', diff_ids: [diffId] },
    };
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    fs.writeFileSync(
      path.join(dir, 'manifest.json'),
      JSON.stringify([{ Config: 'config.json', RepoTags: ['withvol:latest'], Layers: ['layer.tar'] }]),
    );
    execFileSync('tar', ['-cf', path.join(dir, 'image.tar'), '-C', dir, 'manifest.json', 'config.json', 'layer.tar']);
    const loaded = await cli(['load', '-i', path.join(dir, 'image.tar')]);
    expect(loaded.code, loaded.stderr).toBe(0);
  });

  it('become anonymous volumes, filled from the image, removed by rm -v; a -v at the same path replaces one', async () => {
    const r = await cli(['run', '--name', 'iv', 'withvol', 'sh', '-c', 'cat /etc/berth-fixture; echo c > /cache/f']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('busybox fixture\n');
    const mounts = berth.inspect('iv').mounts ?? [];
    expect(mounts.map((m) => [m.Type, m.Destination])).toEqual([
      ['volume', '/etc'],
      ['volume', '/cache'],
    ]);
    expect(await names(['-f', 'label=com.docker.volume.anonymous'])).toHaveLength(2);
    expect(fs.readFileSync(path.join(mounts[0].Source, 'berth-fixture'), 'utf8')).toBe('busybox fixture\n');
    expect((await cli(['rm', '-v', 'iv'])).code).toBe(0);
    expect(await names()).toEqual([]);
    const own = await cli(['run', '--rm', '-v', 'my-cache:/cache', 'withvol', 'true']);
    expect(own.code, own.stderr).toBe(0);
    expect(await names()).toEqual(['my-cache']);
  });
});

describe('the Node API', () => {
  it('createVolume, listVolumes, inspectVolume, removeVolume, pruneVolumes', () => {
    const v = berth.createVolume({ name: 'api-vol', labels: { k: 'v' } });
    expect(v).toMatchObject({ Name: 'api-vol', Labels: { k: 'v' }, Driver: 'local' });
    expect(berth.listVolumes({ filters: ['label=k=v'] }).map((x) => x.Name)).toEqual(['api-vol']);
    expect(berth.inspectVolume('api-vol')).toEqual(v);
    expect(berth.pruneVolumes()).toEqual({ removed: [], spaceReclaimed: 0 });
    expect(berth.removeVolume('api-vol')?.Name).toBe('api-vol');
    expect(berth.removeVolume('api-vol', { force: true })).toBeUndefined();
    expect(() => berth.createVolume({ name: 'a' })).toThrow(/invalid characters/);
    expect(() => berth.listVolumes({ filters: ['x'] })).toThrow(/Invalid filter "x"/);
    expect(() => berth.createVolume({ labels: 'a=b' } as never)).toThrow(/labels/);
  });
});
