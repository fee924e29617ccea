/**
 * The frame of the image lifecycle tests (test/integration/image-*.test.ts: commit, export, save,
 * load, inspect, prune, login, many layers): a store with busybox imported, a scratch directory,
 * more stores on demand, the CLI, and the changes a container makes with what it then sees.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { list as tarList } from 'tar';
import { Berth } from '../../src/index';
import { busyboxTar } from './fixtures';
import { CLI_PATH, hostChanges, hostSnapshot, runCli, tempRoots, type CliResult, type HostSnapshot, type TempRoots } from './env';
import { REPO_ROOT } from './paths';

export interface CliOptions {
  roots?: TempRoots;
  input?: string;
  stdoutFile?: string;
}

export interface ImageLifecycleContext {
  /** The file's store, with busybox imported as `busybox`. */
  roots: TempRoots;
  berth: Berth;
  /** A scratch directory, removed after the file. */
  work: string;
  /** Another empty store, cleaned up after the file. */
  freshBerth(): { berth: Berth; roots: TempRoots };
  /** The CLI on ctx.roots unless opts.roots says otherwise (see berthCli below). */
  berthCli(args: string[], opts?: CliOptions): Promise<CliResult>;
}

/** Registers the calling file's hooks; the host is checked after every test (mounts, cgroups,
 *  berth links and rules). The fields are set once beforeAll has run. */
export function imageLifecycleFixture(): ImageLifecycleContext {
  const extraRoots: TempRoots[] = [];
  let before: HostSnapshot;
  const ctx: ImageLifecycleContext = {
    roots: undefined as unknown as TempRoots,
    berth: undefined as unknown as Berth,
    work: '',
    freshBerth() {
      const r = tempRoots();
      extraRoots.push(r);
      return { berth: new Berth({ root: r.root, runRoot: r.runRoot }), roots: r };
    },
    berthCli: (args, opts) => berthCli(ctx, args, opts),
  };
  beforeAll(async () => {
    ctx.roots = tempRoots();
    ctx.berth = new Berth({ root: ctx.roots.root, runRoot: ctx.roots.runRoot });
    await ctx.berth.importImage(busyboxTar(), 'busybox');
    ctx.work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-lifecycle-'));
  });
  afterAll(() => {
    ctx.roots.cleanup();
    for (const r of extraRoots) r.cleanup();
    fs.rmSync(ctx.work, { recursive: true, force: true });
  });
  beforeEach(() => {
    before = hostSnapshot();
  });
  afterEach(() => {
    expect(hostChanges(before)).toEqual([]);
  });
  return ctx;
}

export const sh = (b: Berth, image: string, script: string, opts: Record<string, unknown> = {}) =>
  b.run({ image, cmd: ['sh', '-c', script], rm: true, ...opts });

/** Entry names of a tar file, in archive order, directories with a trailing slash as stored. */
export async function tarNames(file: string): Promise<string[]> {
  const names: string[] = [];
  await tarList({ file, onReadEntry: (e) => names.push(e.path) });
  return names;
}

export const blobPath = (root: string, digest: string) => path.join(root, 'blobs', 'sha256', digest.slice(7));

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
export const CHANGES = [
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
export const CHECK = [
  'cat /etc/new.txt /home/only',
  'test -e /etc/berth-fixture || echo fixture-deleted',
  'test -e /home/app || echo app-deleted',
  'readlink /data/link',
  '[ "$(stat -c %i /data/h1)" = "$(stat -c %i /data/h2)" ] && echo same-inode',
  'stat -c "%n %A %u:%g" /data/h1 /data/fifo /data/sub/f /tmp',
].join('; ');
export const CHECKED = [
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

/**
 * The CLI, through src/cli/main.ts when its command table (commands.ts) has the command, else through the command module
 * itself with main.ts's error handling (the table entries are added by whoever owns main.ts).
 */
function berthCli(ctx: ImageLifecycleContext, args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const r = opts.roots ?? ctx.roots;
  const [name] = args;
  const main = fs.readFileSync(path.join(REPO_ROOT, 'dist/cli/commands.js'), 'utf8');
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
  const runner = path.join(ctx.work, 'cli-runner.js');
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

/**
 * committed:v1 as the first commit test makes it (busybox with CHANGES, a CMD, ENV, WORKDIR and
 * LABEL, message "my change"), for the files whose tests start from that image.
 */
export async function commitChangedImage(berth: Berth): Promise<void> {
  const made = await berth.run({ image: 'busybox', name: 'changer', cmd: ['sh', '-c', CHANGES] });
  expect([made.exitCode, made.stderr]).toEqual([0, '']);
  await berth.commit('changer', 'committed:v1', {
    changes: ['CMD ["cat", "/etc/new.txt"]', 'ENV FOO=bar GREETING="hello world"', 'WORKDIR /data', 'LABEL team=ship'],
    message: 'my change',
  });
}

export const ls = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);
export const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
