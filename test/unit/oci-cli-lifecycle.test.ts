// berth-oci's command line against a fake runtime: what create, start, run, kill, delete, state
// and exec ask of OciRuntimeApi for runc's spellings of their flags, and their exit statuses.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors';
import type { CreateOptions, ExecOptions } from '../../src/oci/runtime-api';
import type { Spec } from '../../src/oci/spec';
import { parseSignal } from '../../src/oci-cli/signals';
import { FakeRuntime, WaitingRuntime, cli, expectOneLineError } from '../helpers/oci-fake-runtime';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-oci-cli-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

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
