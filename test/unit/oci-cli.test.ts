// berth-oci's command line against a fake runtime: what each command asks of OciRuntimeApi for
// runc's spellings of its flags, what it prints, its logs and its exit statuses.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors';
import type { CreateOptions, ExecOptions, OciRuntimeApi } from '../../src/oci/runtime-api';
import type { Resources, Spec, State } from '../../src/oci/spec';
import { main } from '../../src/oci-cli/main';
import { filterPs, tabwriter } from '../../src/oci-cli/inspect';
import { parseDuration, statsEvent } from '../../src/oci-cli/inspect';
import { ramInBytes } from '../../src/oci-cli/update';
import { parseSignal } from '../../src/oci-cli/signals';

type Call = [string, ...unknown[]];

class FakeRuntime implements OciRuntimeApi {
  calls: Call[] = [];
  states = new Map<string, State>();
  fail: Partial<Record<keyof OciRuntimeApi, Error>> = {};
  exitCode = 0;
  private check(name: keyof OciRuntimeApi) {
    const e = this.fail[name];
    if (e) throw e;
  }
  async create(id: string, o: CreateOptions) {
    this.calls.push(['create', id, o]);
    this.check('create');
    this.states.set(id, { ociVersion: '1.1.0', id, status: 'created', pid: 4242, bundle: o.bundle });
  }
  async start(id: string) {
    this.calls.push(['start', id]);
    this.check('start');
  }
  state(id: string): State {
    this.check('state');
    const s = this.states.get(id);
    if (!s) throw new BerthError('CONTAINER_NOT_FOUND', 'container does not exist');
    return s;
  }
  list() {
    return [...this.states.values()];
  }
  kill(id: string, signal: number, all: boolean) {
    this.calls.push(['kill', id, signal, all]);
  }
  async delete(id: string, force: boolean) {
    this.calls.push(['delete', id, force]);
    this.check('delete');
  }
  async exec(id: string, o: ExecOptions) {
    this.calls.push(['exec', id, o]);
    return this.exitCode;
  }
  pause(id: string) {
    this.calls.push(['pause', id]);
  }
  resume(id: string) {
    this.calls.push(['resume', id]);
  }
  pids(id: string) {
    this.calls.push(['pids', id]);
    return [1, 4242];
  }
  update(id: string, r: Resources) {
    this.calls.push(['update', id, r]);
  }
  stats(id: string) {
    return { type: 'stats', id, data: { memory: { usage: { usage: 1 } } } };
  }
}

/** A fake that can also wait, as `run` without --detach needs. */
class WaitingRuntime extends FakeRuntime {
  async wait(id: string) {
    this.calls.push(['wait', id]);
    return this.exitCode;
  }
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(argv: string[], rt: OciRuntimeApi = new FakeRuntime(), stdin = ''): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, rt, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), stdin: () => stdin });
  return { code, stdout, stderr };
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-oci-cli-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A failure: exit 1 and exactly one stderr line, berth-oci: prefixed. */
function expectOneLineError(r: Result, text: string | RegExp) {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr.split('\n')).toHaveLength(2);
  expect(r.stderr.startsWith('berth-oci: ')).toBe(true);
  expect(r.stderr).toMatch(text);
}

describe('global flags', () => {
  it("--version prints runc's shape: version, spec, runtime", async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    const { version } = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string };
    expect(r.stdout.split('\n')).toEqual([`berth-oci version ${version}`, 'spec: 1.1.0', `node: ${process.version}`, '']);
    expect((await cli(['-v'])).stdout).toBe(r.stdout);
  });

  it('--help and help list the commands; help CMD shows its flags', async () => {
    for (const argv of [['--help'], ['-h'], ['help'], []]) {
      const r = await cli(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/COMMANDS:\n(.*\n)* {3}create +create a container/);
      expect(r.stdout).toContain('--log-format value');
    }
    const r = await cli(['help', 'exec']);
    expect(r.stdout).toContain('--additional-gids value, -g value');
    expect((await cli(['kill', '--help'])).stdout).toContain('--all, -a');
  });

  it('refuses unknown flags, commands and --log-format values in one line', async () => {
    expectOneLineError(await cli(['--frob', 'list']), 'flag provided but not defined: -frob');
    expectOneLineError(await cli(['frob']), "No help topic for 'frob'");
    expectOneLineError(await cli(['--log-format', 'yaml', 'list']), 'invalid log-format: yaml');
    expectOneLineError(await cli(['--rootless', 'maybe', 'list']), 'rootless');
    expectOneLineError(await cli(['--root']), 'flag needs an argument: -root');
  });

  it('--systemd-cgroup is a clear error, --rootless and --criu are accepted', async () => {
    expectOneLineError(await cli(['--systemd-cgroup', 'list']), /systemd-cgroup is not supported: berth-oci drives cgroupfs only/);
    expect((await cli(['--rootless', 'true', '--criu', '/x', 'list'])).code).toBe(0);
    expect((await cli(['--rootless=false', 'list'])).code).toBe(0);
  });

  it('takes Go flag spellings: one dash, =, and a value in the next word', async () => {
    for (const argv of [
      ['-root', dir, 'list'],
      ['--root=' + dir, 'list'],
      ['--root', dir, 'list'],
      ['-log-format=json', 'list'],
    ]) {
      expect((await cli(argv)).code, argv.join(' ')).toBe(0);
    }
  });

  it('--log-format json writes {level,msg,time} lines to --log, and the message to stderr', async () => {
    const log = path.join(dir, 'log.json');
    const r = await cli(['--log', log, '--log-format', 'json', 'state', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('berth-oci: container does not exist\n');
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]) as { level: string; msg: string; time: string };
    expect(entry.level).toBe('error');
    expect(entry.msg).toBe('container does not exist');
    expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // appended, never truncated: containerd keeps one log.json per container
    await cli(['--log', log, '--log-format', 'json', 'kill']);
    const second = fs.readFileSync(log, 'utf8').trim().split('\n');
    expect(second).toHaveLength(2);
    expect((JSON.parse(second[1]) as { msg: string }).msg).toBe('"kill" requires a minimum of 1 argument(s)');
  });

  it('--log-format json without --log writes the json line to stderr', async () => {
    const r = await cli(['--log-format', 'json', 'state', 'nope']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stderr) as { level: string; msg: string }).msg).toBe('container does not exist');
  });

  it('text logs are logrus lines; --debug adds debug lines', async () => {
    const log = path.join(dir, 'log.txt');
    await cli(['--debug', '--log', log, 'state', 'nope']);
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^time="[^"]+" level=debug msg="berth-oci .*\\"state\\" \\"nope\\""$/);
    expect(lines.at(-1)).toMatch(/^time="[^"]+" level=error msg="container does not exist"$/);
    await cli(['--log', path.join(dir, 'quiet.txt'), 'state', 'nope']);
    expect(fs.readFileSync(path.join(dir, 'quiet.txt'), 'utf8')).not.toContain('level=debug');
  });

  it('a runtime error keeps its cause on the one line', async () => {
    const rt = new FakeRuntime();
    rt.fail.create = new BerthError('START_FAILED', 'create c1', { cause: new Error('mount /proc: Operation not permitted') });
    expectOneLineError(await cli(['create', 'c1'], rt), 'berth-oci: create c1: mount /proc: Operation not permitted\n');
  });
});

describe('create, start, run', () => {
  it('create passes the bundle, socket and pid file as absolute paths', async () => {
    const rt = new FakeRuntime();
    const r = await cli(
      [
        'create',
        '--bundle',
        'b',
        '--console-socket',
        '/s.sock',
        '--pid-file=p.pid',
        '--no-pivot',
        '--no-new-keyring',
        '--preserve-fds',
        '2',
        'c1',
      ],
      rt,
    );
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(rt.calls).toEqual([
      [
        'create',
        'c1',
        {
          bundle: path.resolve('b'),
          consoleSocket: '/s.sock',
          pidFile: path.resolve('p.pid'),
          noPivot: true,
          noNewKeyring: true,
          preserveFds: 2,
        },
      ],
    ]);
  });

  it('create takes flags after the id, -b, and the cwd as the default bundle', async () => {
    const rt = new FakeRuntime();
    await cli(['create', 'c1', '-b', '/bundle'], rt);
    await cli(['create', 'c2'], rt);
    expect(rt.calls.map((c) => (c[2] as CreateOptions).bundle)).toEqual(['/bundle', process.cwd()]);
  });

  it('create refuses a bad --preserve-fds and a missing or extra id', async () => {
    expectOneLineError(await cli(['create', '--preserve-fds', 'x', 'c1']), 'invalid value "x" for flag -preserve-fds: parse error');
    expectOneLineError(await cli(['create']), '"create" requires exactly 1 argument(s)');
    expectOneLineError(await cli(['create', 'a', 'b']), '"create" requires exactly 1 argument(s)');
  });

  it('run --detach creates and starts, nothing more', async () => {
    const rt = new WaitingRuntime();
    expect((await cli(['run', '-d', '-b', '/b', 'c1'], rt)).code).toBe(0);
    expect(rt.calls.map((c) => c[0])).toEqual(['create', 'start']);
  });

  it('run waits, exits with the container status and deletes it unless --keep', async () => {
    const rt = new WaitingRuntime();
    rt.exitCode = 3;
    expect((await cli(['run', '--bundle', '/b', 'c1'], rt)).code).toBe(3);
    expect(rt.calls.map((c) => c[0])).toEqual(['create', 'start', 'wait', 'delete']);
    rt.calls = [];
    expect((await cli(['run', '--keep', 'c2'], rt)).code).toBe(3);
    expect(rt.calls.map((c) => c[0])).toEqual(['create', 'start', 'wait']);
  });

  it('run without --detach on a runtime that cannot wait is refused before anything is made', async () => {
    const rt = new FakeRuntime();
    expectOneLineError(await cli(['run', 'c1'], rt), /--detach/);
    expect(rt.calls).toEqual([]);
  });

  it('run deletes (forced) what it made when start fails', async () => {
    const rt = new WaitingRuntime();
    rt.fail.start = new Error('exec /bin/nope: no such file or directory');
    expectOneLineError(await cli(['run', '-d', 'c1'], rt), 'exec /bin/nope');
    expect(rt.calls.map((c) => c.slice(0, 3))).toEqual([
      ['create', 'c1', expect.anything()],
      ['start', 'c1'],
      ['delete', 'c1', true],
    ]);
  });

  it('start, pause, resume take exactly one id', async () => {
    const rt = new FakeRuntime();
    for (const c of ['start', 'pause', 'resume']) {
      expect((await cli([c, 'c1'], rt)).code).toBe(0);
      expectOneLineError(await cli([c], rt), `"${c}" requires exactly 1 argument(s)`);
    }
    expect(rt.calls).toEqual([
      ['start', 'c1'],
      ['pause', 'c1'],
      ['resume', 'c1'],
    ]);
  });
});

describe('kill, delete, state', () => {
  it('kill reads names with or without SIG, numbers, SIGTERM by default, --all anywhere', async () => {
    const rt = new FakeRuntime();
    await cli(['kill', 'c1'], rt);
    await cli(['kill', 'c1', 'KILL'], rt);
    await cli(['kill', 'c1', 'sigusr1'], rt);
    await cli(['kill', '--all', 'c1', '9'], rt);
    await cli(['kill', 'c1', 'SIGHUP', '-a'], rt);
    expect(rt.calls).toEqual([
      ['kill', 'c1', 15, false],
      ['kill', 'c1', 9, false],
      ['kill', 'c1', 10, false],
      ['kill', 'c1', 9, true],
      ['kill', 'c1', 1, true],
    ]);
    expect(parseSignal('winch')).toBe(28);
  });

  it('kill refuses an unknown signal and a third operand, touching nothing', async () => {
    const rt = new FakeRuntime();
    expectOneLineError(await cli(['kill', 'c1', 'SIGFOO'], rt), 'unknown signal "SIGFOO"');
    expectOneLineError(await cli(['kill', 'c1', '99999'], rt), 'unknown signal "99999"');
    expectOneLineError(await cli(['kill', 'c1', 'KILL', 'x'], rt), '"kill" requires a maximum of 2 argument(s)');
    expect(rt.calls).toEqual([]);
  });

  it('delete --force of a container that does not exist succeeds, as runc', async () => {
    const rt = new FakeRuntime();
    rt.fail.delete = new BerthError('CONTAINER_NOT_FOUND', 'container does not exist');
    expect((await cli(['delete', '--force', 'gone'], rt)).code).toBe(0);
    expect((await cli(['delete', 'gone', '-f'], rt)).code).toBe(0);
    expectOneLineError(await cli(['delete', 'gone'], rt), 'container does not exist');
    expect(rt.calls).toEqual([
      ['delete', 'gone', true],
      ['delete', 'gone', true],
      ['delete', 'gone', false],
    ]);
  });

  it("state prints the runtime's state document, indented as runc", async () => {
    const rt = new FakeRuntime();
    await cli(['create', '-b', '/b', 'c1'], rt);
    const r = await cli(['state', 'c1'], rt);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(JSON.stringify({ ociVersion: '1.1.0', id: 'c1', status: 'created', pid: 4242, bundle: '/b' }, null, 2) + '\n');
  });
});

describe('exec', () => {
  function withBundle(rt: FakeRuntime): string {
    const spec: Spec = {
      ociVersion: '1.1.0',
      process: {
        user: { uid: 0, gid: 0 },
        args: ['sh'],
        env: ['PATH=/bin'],
        cwd: '/',
        capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
        terminal: true,
      },
    };
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
    rt.states.set('c1', { ociVersion: '1.1.0', id: 'c1', status: 'running', pid: 7, bundle: dir });
    return dir;
  }
  const execOf = (rt: FakeRuntime) => rt.calls.find((c) => c[0] === 'exec')?.[2] as ExecOptions;

  it('builds the process from the container config and the flags; what follows the id is the command', async () => {
    const rt = new FakeRuntime();
    withBundle(rt);
    rt.exitCode = 5;
    const r = await cli(
      [
        'exec',
        '-e',
        'A=1',
        '--env',
        'B=2',
        '--cwd',
        '/tmp',
        '-u',
        '1000:1001',
        '-g',
        '10',
        '--additional-gids',
        '11',
        '--cap',
        'CAP_NET_ADMIN',
        '--no-new-privs',
        'c1',
        'ls',
        '-l',
        '--env',
        'x',
      ],
      rt,
    );
    expect(r.code).toBe(5);
    const p = execOf(rt).process;
    expect(p.args).toEqual(['ls', '-l', '--env', 'x']);
    expect(p.env).toEqual(['PATH=/bin', 'A=1', 'B=2']);
    expect(p.cwd).toBe('/tmp');
    expect(p.user).toEqual({ uid: 1000, gid: 1001, additionalGids: [10, 11] });
    expect(p.capabilities?.bounding).toEqual(['CAP_KILL', 'CAP_NET_ADMIN']);
    expect(p.capabilities?.ambient).toBeUndefined();
    expect(p.noNewPrivileges).toBe(true);
    // the config's terminal is off unless --tty, as runc's exec
    expect(p.terminal).toBe(false);
    expect(execOf(rt).detach).toBe(false);
  });

  it('--process FILE is the whole process; --detach, --pid-file, --console-socket go through', async () => {
    const rt = new FakeRuntime();
    withBundle(rt);
    const file = path.join(dir, 'process.json');
    fs.writeFileSync(file, JSON.stringify({ user: { uid: 0, gid: 0 }, args: ['top'], cwd: '/', terminal: true }));
    const r = await cli(['exec', '--process', file, '-d', '--pid-file', 'x.pid', '--console-socket', '/c.sock', 'c1'], rt);
    expect(r.code).toBe(0);
    expect(execOf(rt)).toEqual({
      process: { user: { uid: 0, gid: 0 }, args: ['top'], cwd: '/', terminal: true },
      detach: true,
      pidFile: path.resolve('x.pid'),
      consoleSocket: '/c.sock',
    });
  });

  it('refuses what runc refuses: no command, a bad uid, a relative cwd, a tty nobody takes', async () => {
    const rt = new FakeRuntime();
    withBundle(rt);
    expectOneLineError(await cli(['exec', 'c1'], rt), 'exec args cannot be empty');
    expectOneLineError(await cli(['exec', '-u', 'root', 'c1', 'id'], rt), 'bad uid');
    expectOneLineError(await cli(['exec', '--cwd', 'tmp', 'c1', 'id'], rt), 'Cwd must be an absolute path');
    expectOneLineError(
      await cli(['exec', '-t', '-d', 'c1', 'sh'], rt),
      'cannot allocate tty if berth-oci will detach without setting console socket',
    );
    expectOneLineError(await cli(['exec', '--console-socket', '/s', 'c1', 'sh'], rt), 'cannot use console socket');
    expectOneLineError(await cli(['exec', '-p', path.join(dir, 'missing.json'), 'c1'], rt), 'missing.json');
    expect(rt.calls.filter((c) => c[0] === 'exec')).toEqual([]);
  });
});

describe('list, ps, events, update', () => {
  function twoContainers(rt: FakeRuntime) {
    rt.states.set('a', { ociVersion: '1.1.0', id: 'a', status: 'running', pid: 10, bundle: '/bundles/a' });
    const created = '2024-05-01T10:00:00.5Z';
    rt.states.set('long-container-id', {
      ociVersion: '1.1.0',
      id: 'long-container-id',
      status: 'stopped',
      pid: 0,
      bundle: '/b',
      created,
    } as State);
  }

  it("list prints runc's table (tabwriter columns), -q the ids, json the entries", async () => {
    const rt = new FakeRuntime();
    twoContainers(rt);
    const table = (await cli(['--root', dir, 'list'], rt)).stdout.split('\n');
    // each column as wide as its widest cell plus 3, at least 12; the last one unpadded
    const row = (...c: string[]) => c[0].padEnd(20) + c[1].padEnd(12) + c[2].padEnd(12) + c[3].padEnd(13) + c[4].padEnd(25) + c[5];
    expect(table[0]).toBe(row('ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'));
    expect(table[2]).toBe(row('long-container-id', '0', 'stopped', '/b', '2024-05-01T10:00:00.5Z', ''));
    expect((await cli(['list', '-q'], rt)).stdout).toBe('a\nlong-container-id\n');
    const json = JSON.parse((await cli(['list', '--format', 'json'], rt)).stdout) as Array<Record<string, unknown>>;
    expect(json.map((e) => Object.keys(e).sort())[0]).toEqual([
      'bundle',
      'created',
      'id',
      'ociVersion',
      'owner',
      'pid',
      'rootfs',
      'status',
    ]);
    expect(json[1]).toMatchObject({ id: 'long-container-id', created: '2024-05-01T10:00:00.5Z', status: 'stopped' });
    expect((await cli(['list', '-f', 'json'], new FakeRuntime())).stdout).toBe('[]\n');
    expectOneLineError(await cli(['list', '-f', 'yaml'], rt), 'invalid format option');
    expect(
      tabwriter([
        ['ID', 'PID'],
        ['x', '1'],
      ]),
    ).toBe('ID          PID\nx           1\n');
  });

  it("list owner is the state directory's", async () => {
    const rt = new FakeRuntime();
    rt.states.set('a', { ociVersion: '1.1.0', id: 'a', status: 'running', pid: 10, bundle: '/b' });
    fs.mkdirSync(path.join(dir, 'a'));
    const json = JSON.parse((await cli(['--root', dir, 'list', '--format=json'], rt)).stdout) as Array<{ owner: string; created: string }>;
    expect(json[0].owner).toBe(os.userInfo().username);
    expect(json[0].created).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
  });

  it("ps --format json prints the pids; the table keeps ps's header and the container's lines", async () => {
    const rt = new FakeRuntime();
    expect((await cli(['ps', '-f', 'json', 'c1'], rt)).stdout).toBe('[1,4242]\n');
    const ps =
      'UID          PID    PPID  C STIME TTY          TIME CMD\nroot           1       0  0 10:00 ?        00:00:01 init\nroot         200       1  0 10:00 ?        00:00:00 other\nroot        4242       1  0 10:00 ?        00:00:00 sh\n';
    expect(filterPs(ps, [1, 4242])).toBe(
      ps
        .split('\n')
        .filter((l) => !l.includes('other'))
        .join('\n'),
    );
    expect(() => filterPs('USER COMMAND\nroot x\n', [1])).toThrow("couldn't find PID field in ps output");
    // the table through the real ps: our own process is not in the container
    const r = await cli(['ps', 'c1', '-o', 'pid,comm'], rt);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0].trim()).toBe('PID COMMAND');
    expect(r.stdout).not.toContain(` ${process.pid} `);
  });

  it('events --stats prints one stats object; --interval takes Go durations', async () => {
    const r = await cli(['events', '--stats', 'c1']);
    expect(JSON.parse(r.stdout)).toEqual({ type: 'stats', id: 'c1', data: { memory: { usage: { usage: 1 } } } });
    // bare statistics from the runtime are put in runc's envelope
    expect(statsEvent('c1', { memory: {} })).toEqual({ type: 'stats', id: 'c1', data: { memory: {} } });
    expect(parseDuration('5s', 'interval')).toBe(5000);
    expect(parseDuration('1m30s', 'interval')).toBe(90_000);
    expect(parseDuration('250ms', 'interval')).toBe(250);
    expectOneLineError(await cli(['events', '--interval', '1x', 'c1']), 'invalid value "1x" for flag -interval: parse error');
  });

  it("update sends only the limits given, with runc's units", async () => {
    const rt = new FakeRuntime();
    await cli(
      [
        'update',
        '--memory',
        '32m',
        '--memory-swap',
        '-1',
        '--cpu-share',
        '512',
        '--cpu-quota',
        '-1',
        '--cpu-period',
        '100000',
        '--cpuset-cpus',
        '0-1',
        '--cpuset-mems',
        '0',
        '--pids-limit',
        '20',
        'c1',
      ],
      rt,
    );
    await cli(['update', 'c1', '--cpu-shares', '100', '--memory-reservation=1GiB', '--blkio-weight', '500'], rt);
    expect(rt.calls).toEqual([
      [
        'update',
        'c1',
        {
          memory: { limit: 32 * 1024 ** 2, swap: -1 },
          cpu: { shares: 512, quota: -1, period: 100000, cpus: '0-1', mems: '0' },
          pids: { limit: 20 },
        },
      ],
      ['update', 'c1', { memory: { reservation: 1024 ** 3 }, cpu: { shares: 100 }, blockIO: { weight: 500 } }],
    ]);
    expect(ramInBytes('1.5k', 'memory')).toBe(1536);
    expectOneLineError(await cli(['update', '--memory', '12q', 'c1'], rt), 'invalid value for memory');
    expectOneLineError(await cli(['update', '--cpu-period', '-5', 'c1'], rt), 'invalid value for cpu-period');
    expectOneLineError(await cli(['update', '--l3-cache-schema', 'L3:0=f', 'c1'], rt), 'Intel RDT is not supported');
  });

  it('update --resources reads a file or stdin, ignoring the other flags', async () => {
    const rt = new FakeRuntime();
    const file = path.join(dir, 'r.json');
    const resources = { memory: { limit: 1048576 }, pids: { limit: 5 } };
    fs.writeFileSync(file, JSON.stringify(resources));
    await cli(['update', '-r', file, '--memory', '1g', 'c1'], rt);
    await cli(['update', '--resources', '-', 'c1'], rt, JSON.stringify({ cpu: { shares: 2 } }));
    expect(rt.calls).toEqual([
      ['update', 'c1', resources],
      ['update', 'c1', { cpu: { shares: 2 } }],
    ]);
    expectOneLineError(await cli(['update', '--resources', '-', 'c1'], rt, '{"memory":'), 'resources from stdin');
    expectOneLineError(await cli(['update', '--resources', '-', 'c1'], rt, '[1]'), 'expected a JSON object');
  });
});

describe('features and spec', () => {
  it('features is the runtime-spec features document', async () => {
    const r = await cli(['features']);
    expect(r.code).toBe(0);
    const f = JSON.parse(r.stdout) as {
      ociVersionMin: string;
      ociVersionMax: string;
      hooks: string[];
      mountOptions: string[];
      linux: {
        namespaces: string[];
        capabilities: string[];
        cgroup: Record<string, boolean>;
        seccomp: { enabled: boolean };
        apparmor: { enabled: boolean };
      };
    };
    expect(f.ociVersionMin).toBe('1.0.0');
    expect(f.ociVersionMax).toBe('1.1.0');
    expect(f.hooks).toContain('createContainer');
    expect(f.mountOptions).toEqual(expect.arrayContaining(['rbind', 'ro', 'rprivate', 'nosuid']));
    expect(f.linux.namespaces).toEqual(expect.arrayContaining(['pid', 'network', 'mount', 'user', 'cgroup']));
    expect(f.linux.capabilities).toContain('CAP_SYS_ADMIN');
    expect(f.linux.cgroup).toMatchObject({ v1: true, v2: true, systemd: false });
    expect(f.linux.apparmor.enabled).toBe(false);
  });

  it("spec writes runc's example config.json, parseable as a Spec, and never overwrites one", async () => {
    expect((await cli(['spec', '--bundle', dir])).code).toBe(0);
    const text = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
    expect(text).toContain('\n\t"process": {');
    const spec = JSON.parse(text) as Spec;
    expect(spec.ociVersion).toBe('1.1.0');
    expect(spec.process).toMatchObject({ args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 }, terminal: true });
    expect(spec.root).toEqual({ path: 'rootfs', readonly: true });
    expect(spec.mounts?.map((m) => m.destination)).toEqual([
      '/proc',
      '/dev',
      '/dev/pts',
      '/dev/shm',
      '/dev/mqueue',
      '/sys',
      '/sys/fs/cgroup',
    ]);
    expect(spec.linux?.namespaces?.map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    expect(spec.linux?.maskedPaths).toContain('/proc/kcore');
    expect(spec.linux?.readonlyPaths).toContain('/proc/sys');
    expectOneLineError(await cli(['spec', '-b', dir]), 'File config.json exists. Remove it first');
    expect(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).toBe(text);
  });

  it('spec --rootless maps the caller to root in a user namespace, without a network namespace', async () => {
    expect((await cli(['spec', '--rootless', '-b', dir])).code).toBe(0);
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Spec;
    expect(spec.linux?.namespaces?.map((n) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount', 'user']);
    expect(spec.linux?.uidMappings).toEqual([{ containerID: 0, hostID: process.geteuid?.(), size: 1 }]);
    expect(spec.mounts?.find((m) => m.destination === '/sys')).toEqual({
      destination: '/sys',
      type: 'none',
      source: '/sys',
      options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
    });
    expect(spec.mounts?.find((m) => m.destination === '/dev/pts')?.options).not.toContain('gid=5');
    expect(spec.linux?.resources).toBeUndefined();
  });
});

describe('the built executable', () => {
  const bin = path.join(__dirname, '..', '..', 'dist', 'oci-cli', 'berth-oci.js');

  it('runs through its launcher; without src/oci/runtime.ts a command needing it says so in one line', () => {
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^berth-oci version \S+\nspec: 1\.1\.0\n/);
    const r = spawnSync(bin, ['--root', dir, 'list'], { encoding: 'utf8' });
    if (fs.existsSync(path.join(__dirname, '..', '..', 'dist', 'oci', 'runtime.js'))) {
      expect(r.stderr).not.toContain('runtime.ts is missing');
    } else {
      expect(r.status).toBe(1);
      expect(r.stderr).toBe('berth-oci: this build has no OCI runtime: src/oci/runtime.ts is missing\n');
    }
  });
});
