import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { list as tarList } from 'tar';
import { Berth } from '../../src/index';
import { busyboxTar } from '../helpers/fixtures';
import { CLI_PATH, hostChanges, hostSnapshot, runCli, tempRoots, type CliResult, type HostSnapshot, type TempRoots } from '../helpers/env';
import { REPO_ROOT } from '../helpers/paths';
import { REGISTRY_BIN, startRegistry } from '../helpers/registry';
import { buildImage, buildRawImage, initLayout } from '../fixtures/registry/images';
import { rootfsMount } from '../../src/runtime/rootfs';

let roots: TempRoots;
let berth: Berth;
let work: string;
let before: HostSnapshot;
const extraRoots: TempRoots[] = [];

beforeAll(async () => {
  roots = tempRoots();
  berth = new Berth({ root: roots.root, runRoot: roots.runRoot });
  await berth.importImage(busyboxTar(), 'busybox');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-lifecycle-'));
});
afterAll(() => {
  roots.cleanup();
  for (const r of extraRoots) r.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  before = hostSnapshot();
});
afterEach(() => {
  expect(hostChanges(before)).toEqual([]);
});

function freshBerth(): { berth: Berth; roots: TempRoots } {
  const r = tempRoots();
  extraRoots.push(r);
  return { berth: new Berth({ root: r.root, runRoot: r.runRoot }), roots: r };
}

const sh = (b: Berth, image: string, script: string, opts: Record<string, unknown> = {}) =>
  b.run({ image, cmd: ['sh', '-c', script], rm: true, ...opts });

/** Entry names of a tar file, in archive order, directories with a trailing slash as stored. */
async function tarNames(file: string): Promise<string[]> {
  const names: string[] = [];
  await tarList({ file, onReadEntry: (e) => names.push(e.path) });
  return names;
}

const blobPath = (root: string, digest: string) => path.join(root, 'blobs', 'sha256', digest.slice(7));

/**
 * The CLI, through src/cli/main.ts when its command table has the command, else through the command module
 * itself with main.ts's error handling (the table entries are added by whoever owns main.ts).
 */
function berthCli(args: string[], opts: { roots?: TempRoots; input?: string; stdoutFile?: string } = {}): Promise<CliResult> {
  const r = opts.roots ?? roots;
  const [name] = args;
  const main = fs.readFileSync(path.join(REPO_ROOT, 'dist/cli/main.js'), 'utf8');
  const inMain = new RegExp(`\\b${name}: \\[`).test(main) || ['import', 'images', 'run', 'rmi'].includes(name);
  if (inMain && !opts.stdoutFile) return runCli(args, { roots: r, input: opts.input });
  const [file, exported] = CLI_MODULES[name];
  const script = `
    const { parse } = require(${JSON.stringify(path.join(REPO_ROOT, 'dist/cli/command.js'))});
    const { causeChain, BerthError } = require(${JSON.stringify(path.join(REPO_ROOT, 'dist/errors.js'))});
    const cmd = require(${JSON.stringify(path.join(REPO_ROOT, 'dist/cli', file))})[${JSON.stringify(exported)}];
    Promise.resolve().then(() => cmd.run(parse(cmd, process.argv.slice(2)), { root: process.env.BERTH_ROOT, runRoot: process.env.BERTH_RUNROOT, detachedCleanup: true })).then(
      (code) => { process.exitCode = code ?? 0; },
      (e) => { process.stderr.write(causeChain(e).map((l, i) => (i === 0 ? 'berth: ' + l : '  caused by: ' + l)).join('\\n') + '\\n'); process.exitCode = e instanceof BerthError ? e.exitStatus : 125; });`;
  const runner = path.join(work, 'cli-runner.js');
  fs.writeFileSync(runner, script);
  const argv = inMain ? [CLI_PATH, ...args] : [runner, ...args.slice(1)];
  const stdoutFd = opts.stdoutFile ? fs.openSync(opts.stdoutFile, 'w') : undefined;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      env: { ...process.env, BERTH_ROOT: r.root, BERTH_RUNROOT: r.runRoot },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', stdoutFd ?? 'pipe', 'pipe'],
    });
    if (stdoutFd !== undefined) fs.closeSync(stdoutFd);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code: code ?? 128, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), timedOut: false }),
    );
  });
}

const CLI_MODULES: Record<string, [string, string]> = {
  commit: ['commit.js', 'default'],
  export: ['export.js', 'default'],
  save: ['save-load.js', 'save'],
  load: ['save-load.js', 'load'],
  image: ['image-commands.js', 'image'],
  login: ['login.js', 'login'],
  logout: ['login.js', 'logout'],
};

/** Changes of every kind a container can make to its image's files. */
const CHANGES = [
  'echo new > /etc/new.txt',
  'rm /etc/berth-fixture', // deletion of a file of the image: a whiteout
  'rm -rf /home && mkdir /home && echo only > /home/only', // a directory replaced: opaque
  'mkdir -p /data/sub && echo x > /data/sub/f',
  'ln -s /etc/new.txt /data/link',
  'echo h > /data/h1 && ln /data/h1 /data/h2 && chmod 4755 /data/h1',
  'mknod /data/fifo p',
  'chown 1000:1000 /data/sub/f',
].join(' && ');

/** What a container of an image with CHANGES sees: the same lines before and after commit, export, save. */
const CHECK = [
  'cat /etc/new.txt /home/only',
  'test -e /etc/berth-fixture || echo fixture-deleted',
  'test -e /home/app || echo app-deleted',
  'readlink /data/link',
  '[ "$(stat -c %i /data/h1)" = "$(stat -c %i /data/h2)" ] && echo same-inode',
  'stat -c "%n %A %u:%g" /data/h1 /data/fifo /data/sub/f /tmp',
].join('; ');
const CHECKED = [
  'new',
  'only',
  'fixture-deleted',
  'app-deleted',
  '/etc/new.txt',
  'same-inode',
  '/data/h1 -rwsr-xr-x 0:0',
  '/data/fifo prw-r--r-- 0:0',
  '/data/sub/f -rw-r--r-- 1000:1000',
  '/tmp drwxrwxrwt 0:0',
  '',
].join('\n');

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
      'berth: Expected one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER or WORKDIR for --change but received "FROM scratch"\n',
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

const ls = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);
const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

describe('berth save and berth load', () => {
  it('saves an OCI image layout tar that skopeo and umoci read: same digests, same files', async () => {
    const image = berth.images.resolve('committed:v1');
    const file = path.join(work, 'committed.tar');
    await berth.saveImages(['committed:v1'], file);
    expect(await tarNames(file)).toEqual(
      expect.arrayContaining(['oci-layout', 'index.json', 'manifest.json', `blobs/sha256/${image.id.slice(7)}`]),
    );

    const inspected = JSON.parse(run('skopeo', ['inspect', `oci-archive:${file}:v1`]));
    expect(inspected.Digest).toBe(image.manifestDigest);
    expect(inspected.Layers).toEqual(image.config.rootfs.diff_ids); // uncompressed layers: blob digest = diff ID
    const copied = path.join(work, 'skopeo-dir');
    run('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci-archive:${file}`, `dir:${copied}`]);
    expect(ls(copied)).toEqual(expect.arrayContaining(['manifest.json', image.id.slice(7)]));

    const layout = path.join(work, 'layout');
    fs.mkdirSync(layout);
    run('tar', ['-xf', file, '-C', layout]);
    const bundle = path.join(work, 'bundle');
    run('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
    const rootfs = path.join(bundle, 'rootfs');
    expect(fs.readFileSync(path.join(rootfs, 'etc/new.txt'), 'utf8')).toBe('new\n');
    expect(fs.existsSync(path.join(rootfs, 'etc/berth-fixture'))).toBe(false);
    expect(ls(path.join(rootfs, 'home'))).toEqual(['only']);
    expect(fs.statSync(path.join(rootfs, 'data/h1')).mode & 0o7777).toBe(0o4755);
    expect(fs.readlinkSync(path.join(rootfs, 'data/link'))).toBe('/etc/new.txt');
  });

  it('loads what it saved into another store: same image ID and name, layers shared between images, the same files', async () => {
    const file = path.join(work, 'two.tar');
    await berth.saveImages(['busybox', 'committed:v1'], file);
    const { berth: other, roots: r } = freshBerth();
    const result = await other.loadImages(file);
    expect(result.images.map((i) => [i.id, i.names])).toEqual([
      [berth.images.resolve('busybox').id, ['docker.io/library/busybox:latest']],
      [berth.images.resolve('committed:v1').id, ['docker.io/library/committed:v1']],
    ]);
    expect(ls(path.join(r.root, 'layers'))).toHaveLength(2); // the base layer once
    expect(other.images.resolve('committed:v1').manifestDigest).toBe(berth.images.resolve('committed:v1').manifestDigest);
    expect((await sh(other, 'committed:v1', CHECK)).stdout).toBe(CHECKED);
    expect((await other.run({ image: 'committed:v1', rm: true })).stdout).toBe('new\n');
    expect(ls(path.join(r.root, 'tmp'))).toEqual([]);
  });

  it('loads a docker-archive (manifest.json, RepoTags, uncompressed layers) as skopeo and docker save write it', async () => {
    const file = path.join(work, 'docker-archive.tar');
    run('skopeo', [
      '--insecure-policy',
      'copy',
      '--quiet',
      `oci-archive:${path.join(work, 'committed.tar')}:v1`,
      `docker-archive:${file}:team/app:2`,
    ]);
    const names = await tarNames(file);
    expect(names).toContain('manifest.json');
    expect(names).not.toContain('index.json');
    const { berth: other } = freshBerth();
    const result = await other.loadImages(file);
    expect(result.images.map((i) => i.names)).toEqual([['docker.io/team/app:2']]);
    expect((await sh(other, 'team/app:2', CHECK)).stdout).toBe(CHECKED);
  });

  it('refuses a tampered archive with DIGEST_MISMATCH and keeps nothing of it', async () => {
    const good = path.join(work, 'committed.tar');
    const bad = path.join(work, 'tampered.tar');
    const bytes = fs.readFileSync(good);
    const layer = berth.images.resolve('committed:v1').config.rootfs.diff_ids[1].slice(7);
    // Flip bytes inside the body of the top layer's blob: the member after its 512-byte header.
    const at = bytes.lastIndexOf(Buffer.from(`blobs/sha256/${layer}`)) + 512 + 700;
    for (let i = 0; i < 8; i++) bytes[at + i] ^= 0xff;
    fs.writeFileSync(bad, bytes);
    const { berth: other, roots: r } = freshBerth();
    await expect(other.loadImages(bad)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: expect.stringMatching(/^The blob sha256:[0-9a-f]{64} in .* does not match its digest/),
    });
    expect(other.listImages()).toEqual([]);
    expect(ls(path.join(r.root, 'layers'))).toEqual([]);
    expect(ls(path.join(r.root, 'images'))).toEqual([]);
    expect(ls(path.join(r.root, 'tmp'))).toEqual([]);
  });

  it('berth save -o / berth load -i (CLI) print what docker prints; a flat rootfs tar is refused with the fix', async () => {
    const file = path.join(work, 'cli-save.tar');
    const saved = await berthCli(['save', '-o', file, 'committed:v1']);
    expect([saved.code, saved.stderr, saved.stdout]).toEqual([0, '', '']);
    const { roots: r } = freshBerth();
    const loaded = await berthCli(['load', '-i', file], { roots: r });
    expect([loaded.code, loaded.stderr, loaded.stdout]).toEqual([0, '', 'Loaded image: committed:v1\n']);
    const notImage = await berthCli(['load', '-i', busyboxTar()], { roots: r });
    expect(notImage.code).toBe(125);
    expect(notImage.stderr).toBe(
      `berth: ${JSON.stringify(busyboxTar())} is neither an OCI image layout (no index.json) nor a docker save archive (no manifest.json); to import a flat rootfs tar use berth import\n`,
    );
  });
});

describe('berth image inspect and berth image prune', () => {
  it('inspects an image: ID, names, config, and each layer as diff ID, chain ID and blob', async () => {
    const image = berth.images.resolve('committed:v1');
    const info = berth.inspectImage('committed:v1');
    expect(info).toMatchObject({
      id: image.id,
      names: ['docker.io/library/committed:v1'],
      repoDigests: [],
      size: image.size,
      config: image.config,
    });
    expect(info.layers.map((l) => [l.diffId, l.chainId, l.digest, l.mediaType])).toEqual(
      image.chainIds.map((c, i) => [
        image.config.rootfs.diff_ids[i],
        c,
        image.config.rootfs.diff_ids[i],
        'application/vnd.oci.image.layer.v1.tar',
      ]),
    );
    const cli = await berthCli(['image', 'inspect', 'committed:v1']);
    expect([cli.code, cli.stderr]).toEqual([0, '']);
    expect(JSON.parse(cli.stdout)).toEqual([JSON.parse(JSON.stringify(info))]);
    const missing = await berthCli(['image', 'inspect', 'nosuch']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toMatch(/^berth: No such image: "nosuch:latest"; pull it with/);
  });

  it('prunes unnamed images no container uses, then layers and blobs nothing references; keeps everything in use', async () => {
    const { berth: b, roots: r } = freshBerth();
    await b.importImage(busyboxTar(), 'busybox');
    const keep = await b.run({ image: 'busybox', name: 'keeper', cmd: ['sh', '-c', 'echo k > /k'] });
    const drop = await b.run({ image: 'busybox', name: 'dropper', cmd: ['sh', '-c', 'echo d > /d'] });
    expect([keep.exitCode, drop.exitCode]).toEqual([0, 0]);
    const unnamed = await b.commit('dropper');
    const named = await b.commit('keeper', 'kept:v1');
    // In use by a container and forcibly untagged: unnamed, but kept while that container exists.
    await b.run({ image: 'kept:v1', name: 'user', cmd: ['true'] });
    b.removeImage('kept:v1', { force: true });
    expect(b.images.resolve(named.id).names).toEqual([]);
    // Debris a crash could leave: a blob and a layer directory no image references.
    fs.writeFileSync(path.join(r.root, 'blobs/sha256', 'ab'.repeat(32)), 'orphan');

    const first = b.pruneImages();
    expect(first.images).toEqual([unnamed.id]);
    expect(first.layers).toEqual([unnamed.chainIds[1]]);
    expect(first.blobs.sort()).toEqual(
      [`sha256:${'ab'.repeat(32)}`, unnamed.id, unnamed.manifestDigest, unnamed.config.rootfs.diff_ids[1]].sort(),
    );
    expect(first.reclaimed).toBeGreaterThan(0);
    expect(() => b.images.resolve(unnamed.id)).toThrow(/No such image/);
    expect((await b.run({ image: named.id, cmd: ['cat', '/k'], rm: true })).stdout).toBe('k\n');

    await b.remove('user');
    const cli = await berthCli(['image', 'prune', '-f'], { roots: r });
    expect([cli.code, cli.stderr]).toEqual([0, '']);
    expect(cli.stdout).toBe(
      `Deleted Images:\ndeleted: ${named.id}\n\nDeleted Layers:\ndeleted: ${named.chainIds[1]}\n\nTotal reclaimed space: ${cli.stdout.split('Total reclaimed space: ')[1]}`,
    );
    expect(b.listImages().map((i) => i.names)).toEqual([['docker.io/library/busybox:latest']]);
    expect(ls(path.join(r.root, 'layers'))).toEqual([b.images.resolve('busybox').chainIds[0].slice(7)]);
    expect((await sh(b, 'busybox', 'cat /etc/berth-fixture')).stdout).toBe('busybox fixture\n');
    const again = b.pruneImages();
    expect(again).toEqual({ images: [], layers: [], blobs: [], reclaimed: 0 });
  });
});

/** Debian's docker-registry on 127.0.0.1 with htpasswd (bcrypt) basic auth for one user. */
async function startAuthRegistry(dir: string, user: string, password: string): Promise<{ host: string; stop(): Promise<void> }> {
  const htpasswd = path.join(dir, 'htpasswd');
  fs.writeFileSync(htpasswd, run('htpasswd', ['-Bbn', user, password]));
  return startRegistry(path.join(dir, 'registry'), { htpasswd });
}

describe.skipIf(!fs.existsSync('/usr/bin/htpasswd') || !fs.existsSync(REGISTRY_BIN))('berth login and berth logout', () => {
  it('stores checked credentials 0600 in auth.json, pulls with them, forgets them on logout', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-auth-registry-'));
    const registry = await startAuthRegistry(dir, 'sailor', 's3cret pass');
    try {
      const layout = path.join(dir, 'layout');
      buildImage(layout, 'busybox', [busyboxTar()]);
      run('skopeo', [
        '--insecure-policy',
        'copy',
        '--quiet',
        '--dest-tls-verify=false',
        '--dest-creds',
        'sailor:s3cret pass',
        `oci:${layout}:busybox`,
        `docker://${registry.host}/private/busybox:latest`,
      ]);
      const ref = `${registry.host}/private/busybox:latest`;
      const { berth: b, roots: r } = freshBerth();
      const authFile = path.join(r.root, 'auth.json');

      await expect(b.pullImage(ref)).rejects.toThrow(`(log in with \`berth login ${registry.host}\`)`);
      await expect(b.login(registry.host, { username: 'sailor', password: 'wrong' })).rejects.toThrow(
        `The registry ${registry.host} refused the username "sailor" with that password (401); check the credentials`,
      );
      expect(fs.existsSync(authFile)).toBe(false);

      const login = await berthCli(['login', '-u', 'sailor', '--password-stdin', registry.host], { roots: r, input: 's3cret pass\n' });
      expect([login.code, login.stderr, login.stdout]).toEqual([0, '', 'Login Succeeded\n']);
      expect(fs.statSync(authFile).mode & 0o777).toBe(0o600);
      const stored = JSON.parse(fs.readFileSync(authFile, 'utf8'));
      expect(stored).toEqual({ auths: { [registry.host]: { auth: Buffer.from('sailor:s3cret pass').toString('base64') } } });
      expect(ls(r.root).filter((f) => f.includes('tmp') && f !== 'tmp')).toEqual([]);

      const pulled = await b.pullImage(ref);
      expect(pulled.image.chainIds).toHaveLength(1);
      expect((await b.run({ image: ref, cmd: ['cat', '/etc/berth-fixture'], rm: true })).stdout).toBe('busybox fixture\n');

      const out = await berthCli(['logout', registry.host], { roots: r });
      expect([out.code, out.stdout]).toEqual([0, `Removing login credentials for ${registry.host}\n`]);
      expect(JSON.parse(fs.readFileSync(authFile, 'utf8'))).toEqual({ auths: {} });
      await expect(b.pullImage(ref)).rejects.toMatchObject({ failure: 'unauthorized' });
      const again = await berthCli(['logout', registry.host], { roots: r });
      expect(again.stdout).toBe(`Not logged in to ${registry.host}\n`);

      const bad = await berthCli(['login', '-u', 'sailor', '-p', 'x', '--password-stdin', registry.host], { roots: r, input: 'x' });
      expect([bad.code, bad.stderr]).toEqual([125, 'berth: Conflicting options: --password and --password-stdin; use one of them\n']);
    } finally {
      await registry.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('images with many layers', () => {
  it('loads a 100-layer image whose short layer paths fit one mount option page, and overlayfs mounts them', async () => {
    const layout = path.join(work, 'deep-layout');
    const tars = [busyboxTar()];
    for (let i = 1; i < 100; i++) {
      const dir = path.join(work, 'deep', String(i));
      fs.mkdirSync(path.join(dir, 'layers'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'layers', String(i)), `${i}\n`);
      if (i === 99) fs.writeFileSync(path.join(dir, 'layers', '.wh.1'), ''); // the top layer deletes layer 1's file
      tars.push(path.join(work, 'deep', `${i}.tar`));
      run('tar', ['-cf', tars[i], '-C', dir, '--numeric-owner', '--owner=0', '--group=0', '.']);
    }
    initLayout(layout);
    // umoci init writes "manifests": null, which buildRawImage cannot append to.
    const indexFile = path.join(layout, 'index.json');
    fs.writeFileSync(indexFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(indexFile, 'utf8')), manifests: [] }));
    buildRawImage(layout, 'deep', tars, 'none');
    const archive = path.join(work, 'deep.tar');
    run('tar', ['-cf', archive, '-C', layout, '.']);

    const { berth: b, roots: r } = freshBerth();
    const [loaded] = (await b.loadImages(archive)).images;
    expect(loaded.names).toEqual([]); // a bare "deep" ref.name names no repository
    const image = b.images.resolve(loaded.id);
    expect(image.chainIds).toHaveLength(100);

    const short = b.images.shortLayerDirs(image);
    const long = b.images.layerDirs(image);
    expect(short).toHaveLength(100);
    short.forEach((s, i) => {
      expect(s).toMatch(new RegExp(`^${r.root}/l/[A-Z0-9]{8}$`));
      expect(fs.realpathSync(s)).toBe(long[i]);
    });
    expect(new Set(short).size).toBe(100);
    // Asking again changes nothing (the names are recorded with the layers).
    expect(b.images.shortLayerDirs(image)).toEqual(short);

    const scratch = path.join(r.base, 'c');
    for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(scratch, d), { recursive: true });
    const layout100 = {
      lowers: short,
      upper: path.join(scratch, 'upper'),
      work: path.join(scratch, 'work'),
      merged: path.join(scratch, 'merged'),
    };
    const { data } = rootfsMount('overlay', layout100);
    expect(Buffer.byteLength(data)).toBeLessThan(4096);
    expect(() => rootfsMount('overlay', { ...layout100, lowers: long })).toThrow(/too many for one overlay mount option string/);

    // The kernel takes it: mounted in a private mount namespace of its own, gone when that process exits.
    const merged = layout100.merged;
    const out = run('unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount -t overlay overlay -o "$1" "$2" && ls "$2/layers" | wc -l && cat "$2/layers/2" "$2/layers/99" && test ! -e "$2/layers/1" && echo gone && cat "$2/etc/berth-fixture"`,
      'sh',
      data,
      merged,
    ]);
    expect(out).toBe('98\n2\n99\ngone\nbusybox fixture\n');

    // Removing the image removes the short links with the layers.
    b.removeImage(image.id);
    expect(ls(path.join(r.root, 'l'))).toEqual([]);
  });
});
