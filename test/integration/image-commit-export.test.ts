/** berth commit and berth export: a container's write layer as a new layer, its merged filesystem as a flat tar. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/index';
import { type TempRoots } from '../helpers/env';
import { CHANGES, CHECK, CHECKED, blobPath, imageLifecycleFixture, sh, tarNames } from '../helpers/image-lifecycle';

// The host is checked after every test (imageLifecycleFixture): mounts, cgroups, networks as before.
const ctx = imageLifecycleFixture();
const { berthCli } = ctx;
let roots: TempRoots;
let berth: Berth;
let work: string;
beforeAll(() => ({ roots, berth, work } = ctx));

describe('berth commit', () => {
  it('adds the write layer (whiteouts, opaque dirs, links, modes) as a new layer; the original image is unchanged', async () => {
    const parent = berth.images.resolve('busybox');
    const made = await berth.run({ image: 'busybox', name: 'changer', cmd: ['sh', '-c', CHANGES] });
    expect([made.exitCode, made.stderr]).toEqual([0, '']);

    const image = await berth.commit('changer', 'committed:v1', {
      changes: ['CMD ["cat", "/etc/new.txt"]', 'ENV FOO=bar GREETING="hello world"', 'WORKDIR /data', 'LABEL team=ship'],
      message: 'my change',
    });
    expect(image.names).toEqual(['docker.io/library/committed:v1']);
    expect(image.chainIds.slice(0, 1)).toEqual(parent.chainIds);
    expect(image.chainIds).toHaveLength(2);
    expect(image.config.rootfs.diff_ids.slice(0, 1)).toEqual(parent.config.rootfs.diff_ids);
    expect(image.config.config).toEqual({
      Cmd: ['cat', '/etc/new.txt'],
      Env: ['FOO=bar', 'GREETING=hello world'],
      WorkingDir: '/data',
      Labels: { team: 'ship' },
    });
    expect(image.config.history!.at(-1)).toMatchObject({ created_by: `sh -c ${CHANGES}`, comment: 'my change' });

    // The layer blob is the OCI diff: deletions as .wh. entries, the replaced dir as an opaque marker, and
    // nothing of the runtime's empty bind-mount targets (/etc/hostname, hosts, resolv.conf).
    const names = await tarNames(blobPath(roots.root, image.config.rootfs.diff_ids[1]));
    expect(names).toEqual([
      'data/',
      'data/fifo',
      'data/h1',
      'data/h2',
      'data/link',
      'data/sub/',
      'data/sub/f',
      'etc/',
      'etc/.wh.berth-fixture',
      'etc/new.txt',
      'home/',
      'home/.wh..wh..opq',
      'home/only',
    ]);

    const run = await berth.run({ image: 'committed:v1', rm: true });
    expect([run.exitCode, run.stdout]).toEqual([0, 'new\n']);
    const env = await sh(berth, 'committed:v1', 'pwd; echo "$FOO $GREETING"');
    expect(env.stdout).toBe('/data\nbar hello world\n');
    expect((await sh(berth, 'committed:v1', CHECK)).stdout).toBe(CHECKED);

    // The parent image is as it was: same record, same files.
    expect(berth.images.resolve('busybox')).toEqual(parent);
    const old = await sh(berth, 'busybox', 'cat /etc/berth-fixture; test -e /etc/new.txt || echo no-new; ls /home');
    expect(old.stdout).toBe('busybox fixture\nno-new\napp\n');
  });

  it('commits a commit: the chain grows, ENTRYPOINT drops the inherited CMD, and a running container can be committed', async () => {
    const proc = berth.spawn({
      image: 'committed:v1',
      name: 'runner',
      cmd: ['sh', '-c', 'echo second > /data/second; echo ready; sleep 30'],
    });
    await new Promise<void>((resolve) => proc.stdout!.once('data', () => resolve()));
    try {
      const image = await berth.commit('runner', 'committed:v2', { changes: ['ENTRYPOINT ["cat"]'] });
      expect(image.chainIds).toHaveLength(3);
      expect(image.config.config?.Entrypoint).toEqual(['cat']);
      expect(image.config.config?.Cmd).toBeNull();
      const r = await berth.run({ image: 'committed:v2', cmd: ['/data/second', '/etc/new.txt'], rm: true });
      expect(r.stdout).toBe('second\nnew\n');
    } finally {
      proc.kill('SIGKILL');
      await proc.wait();
      await berth.remove('runner');
    }
  });

  it('commits an unchanged container as an empty layer, and without a name', async () => {
    const c = await berth.run({ image: 'busybox', name: 'idle', cmd: ['true'] });
    expect(c.exitCode).toBe(0);
    const image = await berth.commit('idle');
    expect(image.names).toEqual([]);
    // Nothing: the bind-mount targets (/etc/hosts, ...) are in the image's init layer, not the write layer.
    expect(await tarNames(blobPath(roots.root, image.config.rootfs.diff_ids[1]))).toEqual([]);
    // and the image with an empty layer on top runs
    expect((await berth.run({ image: image.id, cmd: ['true'], rm: true })).exitCode).toBe(0);
    await berth.remove('idle');
    berth.removeImage(image.id);
  });

  it('berth commit (CLI): -c, -m, prints the ID; a bad --change fails in one line before anything is written', async () => {
    const ok = await berthCli(['commit', '-c', 'CMD echo from-cli', '-m', 'cli', 'changer', 'cli:v1']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const image = berth.images.resolve('cli:v1');
    expect(image.id).toBe(ok.stdout.trim());
    expect(image.config.config?.Cmd).toEqual(['/bin/sh', '-c', 'echo from-cli']);
    expect((await berth.run({ image: 'cli:v1', rm: true })).stdout).toBe('from-cli\n');

    const blobs = fs.readdirSync(path.join(roots.root, 'blobs/sha256')).length;
    const bad = await berthCli(['commit', '-c', 'FROM scratch', 'changer', 'cli:v2']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toBe(
      'berth: Expected one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER or WORKDIR for --change but received "FROM scratch"\n',
    );
    expect(fs.readdirSync(path.join(roots.root, 'blobs/sha256')).length).toBe(blobs);
    expect(fs.readdirSync(path.join(roots.root, 'tmp'))).toEqual([]);

    const missing = await berthCli(['commit', 'nosuch', 'x:y']);
    expect([missing.code, missing.stderr]).toEqual([125, 'berth: No such container: "nosuch"\n']);
  });
});

/** Every path of the image's filesystem with type, mode, owner, size and link target (not mtimes). */
const LISTING =
  "find / -xdev \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -print | grep -v '^/etc/hostname$\\|^/etc/hosts$\\|^/etc/resolv.conf$' | sort | while read -r f; do stat -c '%n %F %A %u:%g %s %N' \"$f\"; done";

describe('berth export', () => {
  it('writes the merged filesystem as one flat tar that import reads back: the same files, the changes applied', async () => {
    const file = path.join(work, 'changer.tar');
    await berth.exportContainer('changer', file);
    const names = await tarNames(file);
    expect(names.some((n) => n.includes('.wh.'))).toBe(false);
    expect(names).toContain('bin/busybox');
    expect(names).toContain('etc/new.txt');
    expect(names).not.toContain('etc/berth-fixture');
    expect(names).not.toContain('home/app/');
    expect(names.indexOf('data/')).toBeLessThan(names.indexOf('data/h1'));
    expect(fs.readdirSync(work).filter((f) => f.includes('.tmp'))).toEqual([]);

    const flat = await berth.importImage(file, 'flat:v1');
    expect(flat.chainIds).toHaveLength(1);
    expect((await sh(berth, 'flat:v1', CHECK)).stdout).toBe(CHECKED);
    const want = await sh(berth, 'committed:v1', LISTING);
    const got = await sh(berth, 'flat:v1', LISTING);
    expect(got.stderr).toBe('');
    expect(got.stdout.split('\n').length).toBeGreaterThan(250);
    expect(got.stdout).toBe(want.stdout);
  });

  it('berth export (CLI): -o FILE, or standard output; a missing container is one line', async () => {
    const viaFile = path.join(work, 'cli-export.tar');
    const a = await berthCli(['export', '-o', viaFile, 'changer']);
    expect([a.code, a.stderr, a.stdout]).toEqual([0, '', '']);
    const viaStdout = path.join(work, 'cli-export-stdout.tar');
    const b = await berthCli(['export', 'changer'], { stdoutFile: viaStdout });
    expect([b.code, b.stderr]).toEqual([0, '']);
    expect(fs.readFileSync(viaStdout).equals(fs.readFileSync(viaFile))).toBe(true);

    const missing = await berthCli(['export', '-o', path.join(work, 'none.tar'), 'nosuch']);
    expect([missing.code, missing.stderr]).toEqual([125, 'berth: No such container: "nosuch"\n']);
    expect(fs.existsSync(path.join(work, 'none.tar'))).toBe(false);
  });
});

describe('berth diff', () => {
  it("lists the write layer's changes against the image as docker does: C, A, D, sorted; a missing container is one line", async () => {
    const want = [
      'A /data',
      'A /data/fifo',
      'A /data/h1',
      'A /data/h2',
      'A /data/link',
      'A /data/sub',
      'A /data/sub/f',
      'C /etc',
      'D /etc/berth-fixture',
      'A /etc/new.txt',
      'C /home',
      'D /home/app',
      'A /home/only',
    ];
    const viaApi = await berth.diff('changer');
    expect(viaApi.map((c) => `${'CAD'[c.Kind]} ${c.Path}`)).toEqual(want);
    const viaCli = await berthCli(['diff', 'changer']);
    expect([viaCli.code, viaCli.stderr, viaCli.stdout]).toEqual([0, '', want.map((l) => `${l}\n`).join('')]);

    const missing = await berthCli(['diff', 'nosuch']);
    expect([missing.code, missing.stderr]).toEqual([125, 'berth: No such container: "nosuch"\n']);
  });
});

describe('berth history', () => {
  it("lists a commit's steps newest first with each layer's size, in the API's shape and docker's table", async () => {
    const image = berth.images.resolve('committed:v1');
    const rows = berth.imageHistory('committed:v1');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      Id: image.id,
      Tags: ['docker.io/library/committed:v1'],
      CreatedBy: `sh -c ${CHANGES}`,
      Comment: 'my change',
    });
    expect(rows[0].Size).toBeGreaterThan(0);
    expect(rows[0].Size).toBeLessThan(1000); // a few small files
    expect(rows[0].Created).toBe(Math.floor(Date.parse(image.created) / 1000));
    expect(rows[1]).toMatchObject({ Id: '<missing>', Tags: [] });
    expect(rows[1].Size).toBeGreaterThan(1_000_000); // busybox itself

    const quiet = await berthCli(['history', '-q', '--no-trunc', 'committed:v1']);
    expect([quiet.code, quiet.stderr, quiet.stdout]).toEqual([0, '', `${image.id}\n<missing>\n`]);
    const tableOut = await berthCli(['image', 'history', 'committed:v1']);
    const lines = tableOut.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$/);
    // CREATED BY cut to docker's 45 columns, ending in an ellipsis
    const createdBy = `${`sh -c ${CHANGES}`.slice(0, 44)}…`;
    expect(lines[1].startsWith(`${image.id.slice(7, 19)}   `)).toBe(true);
    expect(lines[1]).toContain(`   ${createdBy}   `);
    expect(lines[1].endsWith('   my change')).toBe(true);
    expect(lines).toHaveLength(3);

    const missing = await berthCli(['history', 'nosuch']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toMatch(/^berth: No such image: "nosuch:latest"; pull it with/);
  });
});
