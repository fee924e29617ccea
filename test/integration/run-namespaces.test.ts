// docker's namespace flags of `berth run`/`create`: --pid, --ipc, --uts, --userns, --cgroupns and
// --network container:X, each checked on real containers (what the container sees of the host's or
// the other container's namespaces), /sys/fs/cgroup showing the container's own limits read-only,
// and the bad cases as one-line errors that leave nothing behind.
import * as fs from 'node:fs';
import * as os from 'node:os';
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

/** A detached busybox that runs `sh -c script`, by name. */
async function detached(name: string, script: string, ...flags: string[]) {
  const r = await cli(['run', '-d', '--name', name, ...flags, 'busybox', 'sh', '-c', script]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

const nsOf = (pid: number | string, ns: string) => fs.readlinkSync(`/proc/${pid}/ns/${ns}`);

describe('--pid', () => {
  it("host: the host's PID namespace, its /proc/1 visible", async () => {
    const r = await cli(['run', '--rm', '--pid', 'host', 'busybox', 'sh', '-c', 'cat /proc/1/comm; readlink /proc/self/ns/pid']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${fs.readFileSync('/proc/1/comm', 'utf8')}${nsOf('self', 'pid')}\n`);
  });

  it("container:X: X's processes are visible, and the container is in X's namespace (foreground and detached)", async () => {
    await detached('pid-x', 'exec sleep 1000');
    const r = await cli(['run', '--rm', '--pid', 'container:pid-x', 'busybox', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('sleep 1000 \n');
    // detached, under its shim: the same namespace
    await detached('pid-y', 'exec sleep 1001', '--pid', 'container:pid-x');
    const x = berth.inspect('pid-x').state.pid!;
    const y = berth.inspect('pid-y').state.pid!;
    expect(nsOf(y, 'pid')).toBe(nsOf(x, 'pid'));
    // with a tty too (the pty master comes back through berth-nsenter)
    const t = await cli(['run', '--rm', '-t', '--pid', 'container:pid-x', 'busybox', 'sh', '-c', 'ps -o args | grep -c "sleep 100[01]"']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout.trim()).toBe('2');
  });
});

describe('--ipc', () => {
  it("container:X shares X's IPC namespace (its POSIX message queues); private does not; host is the host's", async () => {
    // a message queue is a file of the IPC namespace's mqueue filesystem (mounted at /dev/mqueue)
    await detached('ipc-x', 'touch /dev/mqueue/berth-q && exec sleep 1000', '--ipc', 'shareable');
    const x = berth.inspect('ipc-x').state.pid!;
    for (let i = 0; i < 50 && !fs.existsSync(`/proc/${x}/root/dev/mqueue/berth-q`); i++) await sleep(50);
    const r = await cli(['run', '--rm', '--ipc', 'container:ipc-x', 'busybox', 'sh', '-c', 'ls /dev/mqueue; readlink /proc/self/ns/ipc']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`berth-q\n${nsOf(x, 'ipc')}\n`);
    const own = await cli(['run', '--rm', 'busybox', 'ls', '/dev/mqueue']);
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toBe('');
    const host = await cli(['run', '--rm', '--ipc', 'host', 'busybox', 'readlink', '/proc/self/ns/ipc']);
    expect(host.stdout.trim()).toBe(nsOf('self', 'ipc'));
  });

  it("host: the host's /dev/shm too (docker binds it)", async () => {
    const name = `berth-ns-test-${process.pid}`;
    fs.writeFileSync(`/dev/shm/${name}`, 'from-host');
    try {
      const r = await cli(['run', '--rm', '--ipc', 'host', 'busybox', 'cat', `/dev/shm/${name}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('from-host');
      const own = await cli(['run', '--rm', 'busybox', 'ls', '/dev/shm']);
      expect(own.stdout).toBe('');
    } finally {
      fs.rmSync(`/dev/shm/${name}`, { force: true });
    }
  });

  it("container:X needs X created with --ipc shareable (docker's rule)", async () => {
    await detached('ipc-private', 'exec sleep 1000');
    const r = await cli(['run', '--rm', '--ipc', 'container:ipc-private', 'busybox', 'true']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 125,
      stderr: 'berth: Cannot join the IPC namespace of container "ipc-private": it is not shareable; create it with --ipc shareable\n',
    });
    expect(berth.ps({ all: true }).map((c) => c.config.name)).toEqual(['ipc-private']);
  });
});

describe('--uts host', () => {
  it("the host's hostname, also in /etc/hostname and $HOSTNAME", async () => {
    const r = await cli(['run', '--rm', '--uts', 'host', 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname; echo $HOSTNAME']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${os.hostname()}\n${os.hostname()}\n${os.hostname()}\n`);
  });
});

describe('--network container:X', () => {
  it("X's loopback and interfaces, its /etc/hosts and hostname", async () => {
    await detached('net-x', 'echo hello-from-x | nc -l -p 7777', '--network', 'none', '--hostname', 'xhost');
    let got = '';
    for (let i = 0; i < 50 && got !== 'hello-from-x'; i++) {
      const r = await cli(['run', '--rm', '--network', 'container:net-x', 'busybox', 'sh', '-c', 'nc 127.0.0.1 7777 </dev/null']);
      got = r.stdout.trim();
      if (got !== 'hello-from-x') await sleep(100);
    }
    expect(got).toBe('hello-from-x');
    await detached('net-x2', 'exec sleep 1000', '--network', 'none', '--hostname', 'xhost2');
    const r = await cli([
      'run',
      '--rm',
      '--network',
      'container:net-x2',
      'busybox',
      'sh',
      '-c',
      'hostname; cat /etc/hostname; readlink /proc/self/ns/net',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`xhost2\nxhost2\n${nsOf(berth.inspect('net-x2').state.pid!, 'net')}\n`);
  });

  it("docker's conflicts: -p, --dns, --mac-address, --hostname, --add-host", async () => {
    for (const flags of [
      ['-p', '80'],
      ['--dns', '1.1.1.1'],
      ['--mac-address', '02:42:ac:11:00:02'],
      ['--hostname', 'h'],
      ['--add-host', 'a:1.2.3.4'],
    ]) {
      const r = await cli(['run', '--rm', '--network', 'container:whatever', ...flags, 'busybox', 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^berth: Conflicting options: .* and --network container:whatever; .*\n$/);
    }
    expect(berth.ps({ all: true })).toEqual([]);
  });
});

describe('/sys/fs/cgroup', () => {
  it('shows the container’s own cgroup and its --memory limit, read-only; --privileged writable', async () => {
    const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
    const file = v2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes';
    const r = await cli(['run', '--rm', '-m', '64m', 'busybox', 'sh', '-c', `cat ${file}; touch /sys/fs/cgroup/x 2>&1; echo rc=$?`]);
    expect(r.code, r.stderr).toBe(0);
    const [limit, ...rest] = r.stdout.trim().split('\n');
    expect(limit).toBe(String(64 * 1024 * 1024));
    expect(rest.join('\n')).toMatch(/Read-only file system\nrc=1$/);
    const p = await cli(['run', '--rm', '--privileged', 'busybox', 'sh', '-c', 'grep " /sys/fs/cgroup " /proc/mounts']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/ rw,/);
  });
});

describe('--cgroupns', () => {
  it("private (the default) roots /proc/self/cgroup at its own cgroup; host shows the host's path", async () => {
    const own = await cli(['run', '--rm', 'busybox', 'cat', '/proc/self/cgroup']);
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toMatch(/:memory:\/\n|^0::\/\n/m);
    const host = await cli([
      'run',
      '--rm',
      '--cgroupns',
      'host',
      'busybox',
      'sh',
      '-c',
      'cat /proc/self/cgroup; readlink /proc/self/ns/cgroup',
    ]);
    expect(host.code, host.stderr).toBe(0);
    expect(host.stdout).toMatch(/:memory:\/.*berth.*\/[0-9a-f]{64}\n|^0::\/.+[0-9a-f]{64}\n/m);
    expect(host.stdout).toContain(nsOf('self', 'cgroup'));
  });
});

describe('bad input: one line, exit 125, nothing left', () => {
  it.each([
    [['--pid', 'container:missing'], /^berth: No such container: "missing"\n$/],
    [['--ipc', 'container:missing'], /^berth: No such container: "missing"\n$/],
    [['--network', 'container:missing'], /^berth: No such container: "missing"\n$/],
    [['--pid', 'bogus'], /^berth: Expected host or container:NAME_OR_ID for --pid but received "bogus"\n$/],
    [['--ipc', 'bogus'], /--ipc/],
    [['--pid', 'container:'], /--pid container: needs a container name or ID/],
    [['--userns', 'nope'], /^berth: --userns nope is not supported: .*--userns host.*\n$/],
    [['--uts', 'host', '--hostname', 'x'], /^berth: Conflicting options: --hostname and --uts host; .*\n$/],
    [['--cgroupns', 'nope'], /^berth: Expected host or private for --cgroupns but received "nope"\n$/],
    [['--ipc', 'host', '--sysctl', 'kernel.shmmax=1000'], /kernel\.shmmax is not allowed with --ipc host/],
    [['-d', '--restart', 'always', '--pid', 'container:x'], /^berth: Conflicting options: --restart always and container:x; /],
  ])('%j', async (flags, message) => {
    const r = await cli(['run', '--rm', ...flags, 'busybox', 'true']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 125, stderr: expect.stringMatching(message) });
    expect(r.stderr.split('\n').length).toBe(2);
    expect(berth.ps({ all: true })).toEqual([]);
  });

  it('a stopped container cannot be joined; the new container is not kept', async () => {
    expect((await cli(['create', '--name', 'stopped-x', 'busybox', 'true'])).code).toBe(0);
    for (const flag of ['--pid', '--ipc', '--network']) {
      const r = await cli(['run', '--rm', flag, 'container:stopped-x', 'busybox', 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(
        /^berth: Cannot join the namespaces of container "stopped-x" \(.*\): it is not running; start it first .*\n$/,
      );
    }
    expect(berth.ps({ all: true }).map((c) => c.config.name)).toEqual(['stopped-x']);
  });

  it('--userns host is accepted (the default)', async () => {
    const r = await cli(['run', '--rm', '--userns', 'host', 'busybox', 'cat', '/proc/self/uid_map']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split(/\s+/)).toEqual(['0', '0', '4294967295']);
  });
});
