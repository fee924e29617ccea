// The CVE-2019-5736 class: root in a container racing `berth exec` for the moment the process that
// joined it is not yet the command. test/fixtures/escape/attacker.c is the attack; here it runs
// against a private copy of node driving the CLI (never the real node binary), and nothing of the
// caller may reach it: no host executable to write, no memory, environment or descriptor.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, hostChanges, hostSnapshot, tempRoots, type TempRoots } from '../helpers/env';
import { busyboxTar } from '../helpers/fixtures';
import { REPO_ROOT, WORK_DIR } from '../helpers/paths';

const OCI_PATH = path.join(REPO_ROOT, 'dist', 'oci-cli', 'berth-oci.js');
const ATTACKER_SOURCE = path.join(REPO_ROOT, 'test', 'fixtures', 'escape', 'attacker.c');
const EXECS = 30;

let roots: TempRoots;
let base: string;
let nodeCopy: string;
let attacker: string;

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function buildAttacker(): string {
  const out = path.join(WORK_DIR, 'escape-attacker');
  const fresh = fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(ATTACKER_SOURCE).mtimeMs;
  if (!fresh) {
    fs.mkdirSync(WORK_DIR, { recursive: true });
    execFileSync('gcc', ['-static', '-O2', '-o', `${out}.tmp`, ATTACKER_SOURCE]);
    fs.renameSync(`${out}.tmp`, out);
  }
  return out;
}

interface Cli {
  code: number;
  stdout: string;
  stderr: string;
}

interface Secret {
  marker: string;
  file: string;
}

/** The CLI under the private node, holding a secret file on fd 3 and a secret in its environment. */
function cli(args: string[], secret: Secret): Promise<Cli> {
  return underNodeCopy([CLI_PATH, '--root', roots.root, '--runroot', roots.runRoot, ...args], secret);
}

/** berth-oci under the private node, holding the same secrets. */
function oci(args: string[], secret: Secret): Promise<Cli> {
  return underNodeCopy([OCI_PATH, '--root', path.join(base, 'oci-state'), ...args], secret);
}

function underNodeCopy(argv: string[], secret: Secret): Promise<Cli> {
  const fd = fs.openSync(secret.file, 'r');
  return new Promise((resolve, reject) => {
    const child = spawn(nodeCopy, argv, {
      env: { PATH: process.env.PATH, BERTH_DEFAULT_NETWORK: 'none', BERTH_ESCAPE_MARKER: secret.marker },
      stdio: ['ignore', 'pipe', 'pipe', fd],
    });
    fs.closeSync(fd);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b));
    child.stderr!.on('data', (b: Buffer) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function waitFor(file: string, ms: number): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (fs.existsSync(file)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${file} did not appear within ${ms} ms`);
}

interface Attack {
  report: string[];
  hostFilesBefore: Record<string, string>;
}

/** `EXECS` execs into the attacker's container, some with a tty. */
async function execs(name: string, secret: Secret): Promise<void> {
  for (let i = 0; i < EXECS; i++) {
    const tty = i % 5 === 4 ? ['-t'] : [];
    const r = await cli(['exec', ...tty, name, 'true'], secret);
    expect(r.code, r.stderr).toBe(0);
  }
}

/** Runs the attacker as a detached container started with `runFlags`, lets `visit` start
 *  processes it can see (by default `execs`), then lets it try its writes once the last caller is
 *  gone. */
async function attack(name: string, runFlags: string[], visit: (name: string, secret: Secret) => Promise<void> = execs): Promise<Attack> {
  const dir = fs.mkdtempSync(path.join(base, `${name}-`));
  const shared = path.join(dir, 'x');
  fs.mkdirSync(shared);
  fs.copyFileSync(attacker, path.join(shared, 'attacker'));
  fs.chmodSync(path.join(shared, 'attacker'), 0o755);
  const marker = `caller-secret-${randomBytes(12).toString('hex')}`;
  const secret = { marker, file: path.join(dir, marker) };
  fs.writeFileSync(secret.file, marker);
  // spelled backwards: the attacker turns it round itself, so the container's files never hold it
  fs.writeFileSync(path.join(shared, 'marker'), [...marker].reverse().join(''));
  const hostFiles = [nodeCopy, ...['berth-nsenter', 'berth-init', 'berth-shim'].map((f) => path.join(REPO_ROOT, 'build', 'Release', f))];
  const hostFilesBefore = Object.fromEntries(hostFiles.map((f) => [f, sha256(f)]));

  const run = await cli(['run', '-d', '--name', name, ...runFlags, '-v', `${shared}:/x`, 'busybox', '/x/attacker', '/x'], secret);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  try {
    await waitFor(path.join(shared, 'ready'), 10_000);
    await visit(name, secret);
    fs.writeFileSync(path.join(shared, 'stop'), '');
    await waitFor(path.join(shared, 'report'), 15_000);
  } finally {
    await cli(['rm', '-f', name], secret);
  }
  const report = fs.readFileSync(path.join(shared, 'report'), 'utf8').trim().split('\n');
  // ESCAPE_DEBUG=1 prints what the attacker managed, but for the bulky per-process lines
  if (process.env.ESCAPE_DEBUG)
    console.log(
      name,
      report.filter((l) => !/^(fd|environ-read|mem-read) /.test(l)),
    );
  return { report, hostFilesBefore };
}

/** What must hold whatever the container's capabilities. `ociInit`: the processes caught are
 *  berth-oci inits, which hold their own exec fifo and status pipe until execve (as runc's do). */
function expectNothingOfTheHost(a: Attack, ociInit = false): void {
  for (const [file, hash] of Object.entries(a.hostFilesBefore)) expect(sha256(file), file).toBe(hash);
  const lines = a.report;
  expect(lines.at(-1)).toMatch(/^probes \d+ foreign \d+$/);
  expect(lines.filter((l) => l.startsWith('write-ok'))).toEqual([]);
  expect(lines.filter((l) => /^(environ|mem)-marker /.test(l))).toEqual([]);
  expect(lines.filter((l) => l.includes('caller-secret'))).toEqual([]);
  // Every executable it got hold of is a sealed in-memory copy, never a file of the host.
  const exes = lines.filter((l) => l.startsWith('exe '));
  // (a berth-oci container sharing the PID namespace runs its own program from its read-only root)
  const own = ociInit ? /^exe \d+ \/bin\/busybox$/ : /^$/;
  for (const l of exes.filter((e) => !own.test(e))) expect(l).toMatch(/^exe \d+ \/memfd:berth-(nsenter|init) \(deleted\)$/);
  // A process caught before its execve holds the command's 0, 1 and 2 and nothing else.
  const early = new Set(exes.map((l) => l.split(' ')[1]));
  const fds = lines.filter((l) => l.startsWith('fd ') && early.has(l.split(' ')[1]));
  for (const l of fds) {
    // An init setting up its rootfs holds paths in it (by their host path until pivot_root, by
    // its own after): of the host (everything of the test's lives in /tmp), only its rootfs and
    // its exec fifo.
    if (ociInit) {
      const target = l.split(' ').slice(3).join(' ');
      if (target.startsWith('/tmp/')) expect(target, l).toMatch(/\/oci-rootfs(\/|$)|\/exec\.fifo$/);
    } else expect(Number(l.split(' ')[2]), l).toBeLessThanOrEqual(2);
  }
}

beforeAll(() => {
  roots = tempRoots();
  base = path.join(roots.base, 'escape');
  fs.mkdirSync(base);
  nodeCopy = path.join(base, 'node');
  fs.copyFileSync(process.execPath, nodeCopy);
  fs.chmodSync(nodeCopy, 0o755);
  attacker = buildAttacker();
  execFileSync(nodeCopy, [CLI_PATH, '--root', roots.root, '--runroot', roots.runRoot, 'import', busyboxTar(), 'busybox']);
});
afterAll(() => roots?.cleanup());

describe('container root racing exec (CVE-2019-5736)', () => {
  it('cannot reach the caller with the default capabilities', async () => {
    const before = hostSnapshot();
    const a = await attack('plain', []);
    expectNothingOfTheHost(a);
    // non-dumpable until execve: not even the sealed copy is reachable without CAP_SYS_PTRACE
    expect(a.report.filter((l) => l.startsWith('exe '))).toEqual([]);
    expect(Number(a.report.at(-1)!.split(' ')[1])).toBeGreaterThan(EXECS);
    expect(hostChanges(before)).toEqual([]);
  });

  // CAP_SYS_PTRACE (and --privileged) lift non-dumpable's protection: the attacker may now open
  // what it catches, which must still be only a sealed copy with nothing of the caller in it.
  for (const [name, flags] of [
    ['ptrace', ['--cap-add', 'SYS_PTRACE']],
    ['privileged', ['--privileged']],
  ] as const) {
    it(`cannot reach the caller with ${flags.join(' ')}`, async () => {
      const a = await attack(name, [...flags]);
      expectNothingOfTheHost(a);
      const caught = a.report.filter((l) => l.startsWith('exe '));
      // it did catch exec'd processes before their execve (about one exec in two here): the race is real
      expect(caught.length).toBeGreaterThan(0);
      // what it held it could not write
      for (const l of caught) {
        const link = l.split(' ').slice(2).join(' ');
        expect(
          a.report.some((r) => r.startsWith(`write-denied ${link} `) || r.startsWith(`open-for-write-denied ${link} `)),
          l,
        ).toBe(true);
      }
    });
  }

  it('cannot reach the caller from a berth-oci container that joins its PID namespace (SYS_PTRACE)', async () => {
    const rootfs = path.join(base, 'oci-rootfs');
    fs.mkdirSync(rootfs);
    execFileSync('tar', ['-xf', busyboxTar(), '-C', rootfs]);
    const joinInto = async (name: string, secret: Secret) => {
      const pid = JSON.parse((await cli(['inspect', name], secret)).stdout)[0].State.Pid as number;
      const bundle = path.join(base, 'oci-bundle');
      fs.mkdirSync(bundle);
      expect((await oci(['spec', '--bundle', bundle], secret)).code).toBe(0);
      const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
      config.root.path = rootfs;
      config.process.terminal = false;
      config.process.args = ['true'];
      config.linux.namespaces = config.linux.namespaces.map((n: { type: string }) =>
        n.type === 'pid' ? { type: 'pid', path: `/proc/${pid}/ns/pid` } : n,
      );
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
      for (let i = 0; i < EXECS; i++) {
        const r = await oci(['run', '--bundle', bundle, `join${i}`], secret);
        expect(r.code, r.stderr).toBe(0);
      }
    };
    const a = await attack('ocijoin', ['--cap-add', 'SYS_PTRACE'], joinInto);
    expectNothingOfTheHost(a, true);
    // every init was caught waiting for start: it holds only the sealed helper it was cloned from
    expect(a.report.filter((l) => /^exe \d+ \/memfd:berth-nsenter \(deleted\)$/.test(l)).length).toBeGreaterThan(EXECS / 2);
  });

  it('cannot write berth-init through /proc/1/exe (--init)', async () => {
    const a = await attack('init', ['--init']);
    expectNothingOfTheHost(a);
    expect(a.report).toContain('exe 1 /memfd:berth-init (deleted)');
    expect(a.report.some((l) => /^(open-for-)?write-denied \/memfd:berth-init /.test(l))).toBe(true);
  });
});
