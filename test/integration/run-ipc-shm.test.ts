// /dev/shm with docker's --ipc modes, on real containers: a shareable container's /dev/shm is a
// tmpfs mounted on the host in its directory (--shm-size, nosuid,nodev,noexec, mode 1777) and
// bound in, so a container that joins its IPC namespace (--ipc container:X) sees X's files; --ipc
// host binds the host's /dev/shm; a private container has a tmpfs of its own. The host mount goes
// when the container stops (foreground run, stop, rm, --rm, and the repair of the next command
// after a kill -9); withBusybox checks the host's mounts after every test.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/index';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';

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

const cli = (args: string[]) => runCli(args, { roots });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const shmDir = (id: string) => path.join(roots.root, 'containers', id, 'shm');
/** The host's mountinfo line of a mount point ('' when it is none). */
const hostMount = (dir: string) =>
  fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === dir) ?? '';

async function detached(name: string, script: string, ...flags: string[]) {
  const r = await cli(['run', '-d', '--name', name, ...flags, 'busybox', 'sh', '-c', script]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}
const safeRead = (f: string) => {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return '';
  }
};
async function waitFor(what: string, ok: () => boolean) {
  for (let i = 0; i < 200 && !ok(); i++) await sleep(25);
  expect(ok(), what).toBe(true);
}

describe('--ipc shareable and container:X', () => {
  it("the joiner sees and writes X's /dev/shm, a host tmpfs in X's directory with X's --shm-size; stop unmounts it", async () => {
    const id = await detached('shm-x', 'echo from-x > /dev/shm/x && exec sleep 1000', '--ipc', 'shareable', '--shm-size', '2m');
    await waitFor('X wrote its file', () => fs.existsSync(path.join(shmDir(id), 'x')));
    expect(hostMount(shmDir(id))).toMatch(/ rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=2048k$/);
    expect(fs.statSync(shmDir(id)).mode & 0o7777).toBe(0o1777);
    const r = await cli([
      'run',
      '--rm',
      '--ipc',
      'container:shm-x',
      'busybox',
      'sh',
      '-c',
      'cat /dev/shm/x; echo from-joiner > /dev/shm/j; grep " /dev/shm " /proc/mounts',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^from-x\nshm \/dev\/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k /);
    const inX = await cli(['exec', 'shm-x', 'cat', '/dev/shm/j']);
    expect(inX.stdout, inX.stderr).toBe('from-joiner\n');
    // a private container keeps a tmpfs of its own, in its mount namespace only
    const own = await cli(['run', '--rm', 'busybox', 'sh', '-c', 'ls /dev/shm; grep " /dev/shm " /proc/mounts']);
    expect(own.stdout).toMatch(/^shm \/dev\/shm tmpfs /);
    expect((await cli(['stop', '-t', '1', 'shm-x'])).code).toBe(0);
    await waitFor('the stopped container has no /dev/shm on the host', () => hostMount(shmDir(id)) === '');
    // started again: a fresh one
    expect((await cli(['start', 'shm-x'])).code).toBe(0);
    await waitFor('X wrote its file again', () => fs.existsSync(path.join(shmDir(id), 'x')));
    expect(fs.existsSync(path.join(shmDir(id), 'j'))).toBe(false);
    expect((await cli(['rm', '-f', 'shm-x'])).code).toBe(0);
    expect(hostMount(shmDir(id))).toBe('');
  });

  it('a foreground run and --rm unmount it at the exit', async () => {
    const fg = await cli(['run', '--name', 'shm-fg', '--ipc', 'shareable', 'busybox', 'sh', '-c', 'echo a > /dev/shm/a; cat /dev/shm/a']);
    expect(fg.stdout, fg.stderr).toBe('a\n');
    expect(hostMount(shmDir(berth.inspect('shm-fg').config.id))).toBe('');
    const id = await detached('shm-rm', 'echo b > /dev/shm/b', '--rm', '--ipc', 'shareable');
    await waitFor('the --rm container is gone', () => !fs.existsSync(path.join(roots.root, 'containers', id)));
    expect(hostMount(shmDir(id))).toBe('');
  });

  it("stays mounted across the shim's restarts, though commands repair in between; goes after the last", async () => {
    const id = await detached('shm-re', 'echo run >> /dev/shm/n; sleep 0.2; exit 1', '--ipc', 'shareable', '--restart', 'on-failure:2');
    const runs = () => safeRead(path.join(shmDir(id), 'n')).split('\n').length - 1;
    for (let i = 0; i < 200 && runs() < 3; i++) {
      expect((await cli(['ps', '-a'])).code).toBe(0);
      await sleep(20);
    }
    expect(runs()).toBe(3);
    await waitFor(
      'the last run ended',
      () => berth.inspect('shm-re').state.shimPid === undefined || !fs.existsSync(`/proc/${berth.inspect('shm-re').state.shimPid}`),
    );
    await cli(['ps', '-a']);
    expect(hostMount(shmDir(id))).toBe('');
  });

  it('after a kill -9 of the container and its shim, the next command (ps) unmounts it', async () => {
    const id = await detached('shm-k', 'exec sleep 1000', '--ipc', 'shareable');
    const { pid, shimPid } = berth.inspect('shm-k').state;
    expect(hostMount(shmDir(id))).not.toBe('');
    process.kill(shimPid!, 'SIGKILL');
    process.kill(pid!, 'SIGKILL');
    await waitFor(
      'the container is gone',
      () => !fs.existsSync(`/proc/${pid}`) || fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'),
    );
    await sleep(100);
    expect((await cli(['ps', '-a'])).code).toBe(0);
    expect(hostMount(shmDir(id))).toBe('');
  });
});

describe('--ipc host', () => {
  it("binds the host's /dev/shm", async () => {
    const name = `berth-test-${process.pid}`;
    fs.writeFileSync(`/dev/shm/${name}`, 'host\n');
    try {
      const r = await cli(['run', '--rm', '--ipc', 'host', 'busybox', 'sh', '-c', `cat /dev/shm/${name}; echo c > /dev/shm/${name}.c`]);
      expect(r.stdout, r.stderr).toBe('host\n');
      expect(fs.readFileSync(`/dev/shm/${name}.c`, 'utf8')).toBe('c\n');
    } finally {
      fs.rmSync(`/dev/shm/${name}`, { force: true });
      fs.rmSync(`/dev/shm/${name}.c`, { force: true });
    }
  });
});

describe('bad input', () => {
  it('--shm-size with --ipc host or container:X is one line, exit 125, and leaves nothing behind', async () => {
    await detached('shm-donor', 'exec sleep 1000', '--ipc', 'shareable');
    const cases: Array<[string[], string]> = [
      [['--ipc', 'host'], "Conflicting options: --shm-size and --ipc host; /dev/shm is the host's, drop --shm-size"],
      [
        ['--ipc', 'container:shm-donor'],
        "Conflicting options: --shm-size and --ipc container:shm-donor; /dev/shm is that container's, drop --shm-size",
      ],
    ];
    for (const [flags, message] of cases)
      for (const cmd of [['run'], ['create']]) {
        const r = await cli([...cmd, ...flags, '--shm-size', '1m', 'busybox', 'true']);
        expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 125, stdout: '', stderr: `berth: ${message}\n` });
      }
    expect(berth.ps({ all: true }).map((c) => c.config.name)).toEqual(['shm-donor']);
  });
});
