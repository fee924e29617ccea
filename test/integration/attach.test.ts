// Attaching, as docker's: `run -d -it` then `berth attach` through a real pty (util-linux's
// `script`), the detach keys leaving the container running, a second attach; `start -a` from the
// first byte; run -a STREAM; --sig-proxy; every container's output in its json-file log (a
// foreground run's too); --log-driver none.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/index';
import { withBusybox } from '../helpers/berth';
import { CLI_PATH, runCli, type TempRoots } from '../helpers/env';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
  },
});
let roots: TempRoots;
let berth: Berth;
beforeAll(() => {
  ({ berth, roots } = fixture);
});

const cli = (args: string[], input?: string) => runCli(['--runroot', roots.runRoot, ...args], { roots, input });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A CLI process whose output is collected as it comes, to wait for and write to. */
class Live {
  out = '';
  readonly exited: Promise<number>;
  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (b: Buffer) => (this.out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (this.out += b.toString()));
    this.exited = new Promise((r) => child.on('exit', (code, sig) => r(code ?? 128 + (sig === 'SIGTERM' ? 15 : 9))));
  }
  async waitFor(re: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.out)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; got ${JSON.stringify(this.out)}`);
      await sleep(20);
    }
  }
  write(s: string): void {
    this.child.stdin!.write(s);
  }
}

const env = () => ({ ...process.env, BERTH_ROOT: roots.root, BERTH_RUNROOT: roots.runRoot });

/** The CLI on a pty: `script` gives it a terminal and copies our pipe into it; `before` runs
 *  first in script's shell (stty rows 33 cols 111). */
function onPty(args: string[], before = ''): Live {
  const cmd = before + [process.execPath, '--', CLI_PATH, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Live(spawn('script', ['-qefc', cmd, '/dev/null'], { env: env(), stdio: ['pipe', 'pipe', 'pipe'] }));
}

/** The CLI on pipes. */
function onPipes(args: string[]): Live {
  return new Live(spawn(process.execPath, ['--', CLI_PATH, ...args], { env: env(), stdio: ['pipe', 'pipe', 'pipe'] }));
}

const running = (name: string) => berth.ps({ all: true }).find((c) => c.config.name === name)?.state.status === 'running';

describe('run -d -it, then attach', () => {
  it('attaches through a pty: the prompt and a command’s output, ctrl-p ctrl-q leaves it running, a second attach works', async () => {
    const d = await cli(['run', '-d', '-it', '--network', 'none', '--name', 'sh1', 'busybox', 'sh']);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/^[0-9a-f]{64}\n$/);

    const a = onPty(['attach', 'sh1']);
    await sleep(300);
    a.write('\r'); // a fresh prompt: the first one was printed before we attached
    await a.waitFor(/\/ # /);
    a.write('echo hel""lo\r'); // the quotes make the echo's output differ from its echoed input
    await a.waitFor(/hello\r+\n/);
    a.write('\x10\x11');
    expect(await a.exited).toBe(0);
    expect(running('sh1')).toBe(true);

    // again, with docker's --detach-keys syntax
    const b = onPty(['attach', '--detach-keys', 'ctrl-a,x', 'sh1']);
    await sleep(300);
    b.write('echo ag""ain\r');
    await b.waitFor(/again\r+\n/);
    b.write('\x01x');
    expect(await b.exited).toBe(0);
    expect(running('sh1')).toBe(true);

    // an attach that sees the container exit returns its exit code
    const c = onPty(['attach', 'sh1']);
    await sleep(300);
    c.write('exit 7\r');
    expect(await c.exited).toBe(7);
    expect(running('sh1')).toBe(false);
    // the whole session is in the container's log
    const logs = await cli(['logs', 'sh1']);
    expect(logs.stdout).toContain('hello');
    expect(logs.stdout).toContain('again');
  });

  it('run -it in the foreground: the detach keys leave the container running, attach brings it back', async () => {
    const a = onPty(['run', '-it', '--detach-keys', 'ctrl-x', '--network', 'none', '--name', 'fgit', 'busybox', 'sh']);
    await a.waitFor(/\/ # /);
    a.write('echo x""y\r');
    await a.waitFor(/xy\r+\n/);
    a.write('\x18');
    expect(await a.exited).toBe(0);
    expect(running('fgit')).toBe(true);
    // attach passes its terminal's size on
    const b = onPty(['attach', 'fgit'], 'stty rows 33 cols 111; ');
    await sleep(300);
    b.write('stty size\r');
    await b.waitFor(/33 111\r+\n/);
    b.write('exit 5\r');
    expect(await b.exited).toBe(5);
  });

  it('attaches to -d -i without a tty: piped input reaches the container, its output comes back', async () => {
    const d = await cli([
      'run',
      '-d',
      '-i',
      '--network',
      'none',
      '--name',
      'cat1',
      'busybox',
      'sh',
      '-c',
      'while read l; do echo "got $l"; done',
    ]);
    expect(d.code, d.stderr).toBe(0);
    const a = onPipes(['attach', 'cat1']);
    await sleep(300);
    a.write('one\n');
    await a.waitFor(/got one\n/);
    a.child.kill('SIGKILL'); // an attach client going away detaches it
    await a.exited;
    const b = onPipes(['attach', 'cat1']);
    await sleep(300);
    b.write('two\n');
    await b.waitFor(/got two\n/);
    expect(b.out).not.toContain('got one');
    b.child.kill('SIGKILL');
    await b.exited;
    expect(running('cat1')).toBe(true);
  });

  it('refuses to attach to a stopped container, and bad detach keys before anything is created', async () => {
    await cli(['create', '--network', 'none', '--name', 'stopped1', 'busybox', 'true']);
    const r = await cli(['attach', 'stopped1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cannot attach to a stopped container/);
    const bad = await cli(['run', '--detach-keys', 'ctrl-1', '--network', 'none', '--name', 'bad1', 'busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: Invalid detach keys \(ctrl-1\) provided/);
    const conflict = await cli(['run', '-d', '-a', 'stdout', '--network', 'none', 'busybox', 'true']);
    expect(conflict.code).toBe(125);
    expect(conflict.stderr).toMatch(/Conflicting options: -a and -d/);
    expect(berth.ps({ all: true }).map((c) => c.config.name)).toEqual(['stopped1']);
  });
});

describe('start -a', () => {
  it('prints every line from the first, and exits with the container’s code; start -ai feeds stdin', async () => {
    await cli(['create', '--network', 'none', '--name', 'seq1', 'busybox', 'sh', '-c', 'seq 1 300; exit 4']);
    const expected = Array.from({ length: 300 }, (_, i) => `${i + 1}\n`).join('');
    for (let i = 0; i < 2; i++) {
      const r = await cli(['start', '-a', 'seq1']);
      expect(r.stdout).toBe(expected);
      expect(r.code).toBe(4);
    }
    await cli(['create', '-i', '--network', 'none', '--name', 'cat2', 'busybox', 'sh', '-c', 'cat; echo done']);
    const r = await cli(['start', '-ai', 'cat2'], 'abc\n');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('abc\ndone\n');
  });
});

describe('foreground run', () => {
  it('-a stdout attaches only stdout; without -a both streams, each to its own', async () => {
    const sh = ['busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3'];
    const only = await cli(['run', '--rm', '--network', 'none', '-a', 'stdout', ...sh]);
    expect([only.code, only.stdout, only.stderr]).toEqual([3, 'out\n', '']);
    const errOnly = await cli(['run', '--rm', '--network', 'none', '-a', 'STDERR', ...sh]);
    expect([errOnly.code, errOnly.stdout, errOnly.stderr]).toEqual([3, '', 'err\n']);
    const both = await cli(['run', '--rm', '--network', 'none', ...sh]);
    expect([both.code, both.stdout, both.stderr]).toEqual([3, 'out\n', 'err\n']);
    const bad = await cli(['run', '--rm', '--network', 'none', '-a', 'stdio', ...sh]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/--attach/);
  });

  it('keeps its output in the json-file log: logs after the run shows it', async () => {
    const r = await cli(['run', '--network', 'none', '--name', 'fg1', 'busybox', 'sh', '-c', 'echo one; echo two >&2; seq 1 3']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'one\n1\n2\n3\n', 'two\n']);
    const logs = await cli(['logs', 'fg1']);
    expect([logs.stdout, logs.stderr]).toEqual(['one\n1\n2\n3\n', 'two\n']);
    // -i: piped input, closed at its end (docker's StdinOnce)
    const cat = await cli(['run', '-i', '--rm', '--network', 'none', 'busybox', 'cat'], 'piped\n');
    expect([cat.code, cat.stdout]).toEqual([0, 'piped\n']);
  });

  it('a closed stdout (`| head`) closes the container’s: its writes fail and it ends', async () => {
    const a = onPipes(['run', '--rm', '--network', 'none', 'busybox', 'yes']);
    await a.waitFor(/y\n/);
    a.child.stdout!.destroy();
    expect(await Promise.race([a.exited, sleep(15_000).then(() => 'hung')])).toBe(1);
    expect(berth.ps({ all: true })).toEqual([]);
  });

  it('--log-driver none: no log, and logs says the driver does not support reading', async () => {
    const r = await cli(['run', '--log-driver', 'none', '--network', 'none', '--name', 'nolog', 'busybox', 'echo', 'hi']);
    expect([r.code, r.stdout]).toEqual([0, 'hi\n']);
    const logs = await cli(['logs', 'nolog']);
    expect(logs.code).not.toBe(0);
    expect(logs.stderr).toMatch(/configured logging driver does not support reading/);
    const id = berth.ps({ all: true }).find((c) => c.config.name === 'nolog')!.config.id;
    expect(fs.existsSync(path.join(roots.root, 'containers', id, 'container.log'))).toBe(false);
    const bad = await cli(['run', '--log-driver', 'syslog', '--network', 'none', 'busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/--log-driver/);
  });

  it('--sig-proxy: a SIGTERM to berth reaches the container; with --sig-proxy=false it does not', async () => {
    const sh = ['busybox', 'sh', '-c', 'trap "echo got-term; exit 9" TERM; echo ready; while true; do sleep 0.1; done'];
    const a = onPipes(['run', '--rm', '--network', 'none', '--name', 'sig1', ...sh]);
    await a.waitFor(/ready\n/);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(9);
    expect(a.out).toContain('got-term');

    const b = onPipes(['run', '--sig-proxy=false', '--network', 'none', '--name', 'sig2', ...sh]);
    await b.waitFor(/ready\n/);
    b.child.kill('SIGTERM'); // ends berth only
    await b.exited;
    await sleep(300);
    expect(running('sig2')).toBe(true);
    const logs = await cli(['logs', 'sig2']);
    expect(logs.stdout).not.toContain('got-term');
  });
});
