/**
 * The berth executable's two bundles and their code caches (scripts/bundle-cli.mjs,
 * scripts/cli-launcher.js): every way of loading them prints the same thing, a start that runs no
 * command never needs the commands bundle, and a missing or corrupt cache only costs time.
 * Timings are the bench's business (bench/cold-start.mjs), never asserted here.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const DIST_CLI = path.join(REPO_ROOT, 'dist', 'cli');
const BUNDLES = ['berth.js', 'berth-cli.js', 'berth-cli-commands.js'];

let tmp: string;
let roots: string[];

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The executable through its #! line, as a user runs it. */
function berth(exe: string, args: string[], env: NodeJS.ProcessEnv = {}): Out {
  const r = spawnSync(exe, args, { encoding: 'utf8', env: { ...process.env, BERTH_DEBUG: '', ...env }, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A package of its own: dist/cli with the given bundles, the repository's node_modules and addon. */
function install(name: string, files: string[]): string {
  const pkg = path.join(tmp, name);
  fs.mkdirSync(path.join(pkg, 'dist', 'cli'), { recursive: true });
  for (const f of files) fs.copyFileSync(path.join(DIST_CLI, f), path.join(pkg, 'dist', 'cli', f));
  fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
  fs.symlinkSync(path.join(REPO_ROOT, 'build'), path.join(pkg, 'build'));
  return path.join(pkg, 'dist', 'cli', 'berth.js');
}

const caches = (exe: string) =>
  fs
    .readdirSync(path.dirname(exe))
    .filter((f) => f.endsWith('.cache'))
    .sort();

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cli-bundles-'));
  roots = ['--root', path.join(tmp, 'root'), '--runroot', path.join(tmp, 'run')];
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the berth executable', () => {
  const commands = () => [['--version'], ['--help'], ['ps', '--help'], [...roots, 'ps', '-a'], ['nope'], ['ps', '--bogus']];

  it('prints the same without code caches, through them, with corrupt ones and under BERTH_DEBUG', () => {
    const exe = install('fresh', BUNDLES);
    // BERTH_DEBUG loads the bundles with require() (and adds a stack trace to an error)
    const debug = commands().map((args) => berth(exe, args, { BERTH_DEBUG: '1' }));
    const firstLine = (o: Out) => ({ ...o, stderr: o.stderr.split('\n')[0] });
    const plain = commands().map((args) => berth(exe, args));
    expect(plain.map(firstLine)).toEqual(debug.map(firstLine));
    expect(plain.filter((o) => o.code === 0)).toEqual(debug.filter((o) => o.code === 0));
    expect(plain[0]).toEqual({ code: 0, stdout: expect.stringMatching(/^berth version \d+\.\d+\.\d+/), stderr: '' });
    expect(plain[1].stdout).toContain('Commands:');
    expect(plain[3]).toEqual({ code: 0, stdout: expect.stringMatching(/^CONTAINER ID +IMAGE/), stderr: '' });
    expect(plain[4]).toEqual({ code: 125, stdout: '', stderr: `berth: 'nope' is not a berth command; see 'berth --help'\n` });
    expect(plain[5].code).toBe(125);
    // one cache per bundle loaded and command: `--version`, `--help` and `nope` load only the core
    const v = process.version;
    expect(caches(exe)).toEqual([`berth-cli-commands.js.${v}.ps.cache`, `berth-cli.js.${v}.other.cache`, `berth-cli.js.${v}.ps.cache`]);
    const cached = commands().map((args) => berth(exe, args));
    expect(cached).toEqual(plain);

    for (const f of caches(exe)) fs.writeFileSync(path.join(path.dirname(exe), f), 'not a code cache');
    expect(commands().map((args) => berth(exe, args))).toEqual(plain);
    // rejected caches are written anew
    for (const f of caches(exe)) expect(fs.readFileSync(path.join(path.dirname(exe), f), 'utf8')).not.toBe('not a code cache');
    expect(commands().map((args) => berth(exe, args))).toEqual(plain);
  });

  it('loads none of the Node modules its start does not need', () => {
    // Node's own startup loads a fixed set; whatever a run adds is in process.moduleLoadList
    const preload = path.join(tmp, 'modules.js');
    fs.writeFileSync(
      preload,
      "const base = new Set(process.moduleLoadList);\nprocess.on('exit', () => require('fs').writeFileSync(process.env.MODULES_OUT, process.moduleLoadList.filter((m) => !base.has(m) && m.startsWith('NativeModule ')).join('\\n')));\n",
    );
    const added = (args: string[]) => {
      const out = path.join(tmp, 'modules.txt');
      const r = spawnSync(process.execPath, ['-r', preload, '--', path.join(DIST_CLI, 'berth.js'), ...args], {
        encoding: 'utf8',
        env: { ...process.env, BERTH_DEBUG: '', MODULES_OUT: out },
      });
      expect(r.status, r.stderr).toBe(0);
      return fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
    };
    // the launcher's vm (the code cache) and nothing else: not the ESM loader require('module') brings
    expect(added(['--version'])).toEqual(['NativeModule vm']);
    // ps initializes the whole API, whose modules require child_process, net, streams at their top:
    // those load on first use only (scripts/bundle-cli.mjs, lazy-builtins)
    expect(added([...roots, 'ps', '-a'])).toEqual(['NativeModule vm']);
  });

  it('needs no commands bundle for --version, --help or an unknown command', () => {
    const full = install('full', BUNDLES);
    const core = install('core-only', ['berth.js', 'berth-cli.js']);
    for (const args of [['--version'], ['-v'], ['--help'], [], ['nope'], ['--bogus']]) {
      expect(berth(core, args), args.join(' ')).toEqual(berth(full, args));
    }
    // a command does need it: the split is real
    const ps = berth(core, [...roots, 'ps', '-a']);
    expect(ps.code).not.toBe(0);
    expect(ps.stderr).toContain('berth-cli-commands.js');
  });
});
