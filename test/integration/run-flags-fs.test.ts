// docker's filesystem and process flags of `berth run`, each seen from inside a real container:
// --read-only, --tmpfs, --shm-size, --ulimit, --sysctl, --oom-score-adj, --group-add,
// --domainname, --hostname with a domain; bad values one line, 125, nothing left behind.
import * as fs from 'node:fs';
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
/** `berth run --rm FLAGS busybox sh -c SCRIPT`: its exit code and output. */
const run = (flags: string[], script: string) => cli(['run', '--rm', ...flags, 'busybox', 'sh', '-c', script]);

describe('--read-only and --tmpfs', () => {
  it('refuses a write to the image filesystem, allows one in a tmpfs with docker options over the defaults', async () => {
    const r = await run(
      ['--read-only', '--tmpfs', '/scratch:size=1m,exec', '--tmpfs', '/run'],
      'touch /root-file 2>/dev/null && echo root-written; echo hi > /scratch/f && cat /scratch/f; grep -E " /(scratch|run) " /proc/mounts',
    );
    expect(r.code, r.stderr).toBe(0);
    const [hi, ...mounts] = r.stdout.trim().split('\n');
    expect(hi).toBe('hi');
    const opts = (target: string) =>
      mounts
        .find((m) => m.split(' ')[1] === target)
        ?.split(' ')[3]
        .split(',') ?? [];
    // exec given over docker's noexec; size as given; nosuid,nodev stay
    expect(opts('/scratch')).toEqual(expect.arrayContaining(['rw', 'nosuid', 'nodev', 'size=1024k']));
    expect(opts('/scratch')).not.toContain('noexec');
    expect(opts('/run')).toEqual(expect.arrayContaining(['rw', 'nosuid', 'nodev', 'noexec']));
  });

  it('writes to the image filesystem without --read-only', async () => {
    expect((await run([], 'touch /root-file && echo ok')).stdout).toBe('ok\n');
  });

  it('--shm-size sizes /dev/shm', async () => {
    const r = await run(['--shm-size', '2m'], 'grep " /dev/shm " /proc/mounts');
    expect(r.stdout).toContain('size=2048k');
    expect((await run([], 'grep " /dev/shm " /proc/mounts')).stdout).toContain('size=65536k');
  });
});

describe('process and kernel settings', () => {
  it('--ulimit sets soft and hard limits; -1 is unlimited', async () => {
    const r = await run(['--ulimit', 'nofile=100:200', '--ulimit', 'core=-1'], 'ulimit -n; ulimit -Hn; ulimit -c');
    expect(r.stdout).toBe('100\n200\nunlimited\n');
    // as low as a process can work with: set after the container's stdio is in place
    expect((await run(['--ulimit', 'nofile=8'], 'ulimit -n')).stdout).toBe('8\n');
  });

  it('--sysctl writes namespaced values the container sees in /proc/sys; the host keeps its own', async () => {
    const hostShmmax = fs.readFileSync('/proc/sys/kernel/shmmax', 'utf8');
    const r = await run(
      ['--sysctl', 'kernel.shmmax=12345', '--sysctl', 'net.ipv4.ip_local_port_range=40000 40100'],
      'cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_local_port_range',
    );
    expect(r.stdout.split('\n').map((l) => l.replace(/\s+/g, ' '))).toEqual(['12345', '40000 40100', '']);
    expect(fs.readFileSync('/proc/sys/kernel/shmmax', 'utf8')).toBe(hostShmmax);
  });

  it('--oom-score-adj, --group-add (gid and name), --domainname, --hostname with a domain', async () => {
    const r = await run(
      ['--oom-score-adj', '321', '--group-add', '10', '--group-add', 'nogroup', '--domainname', 'example.org', '-h', 'web.example.com'],
      'cat /proc/self/oom_score_adj; id -G; cat /proc/sys/kernel/domainname; hostname',
    );
    expect(r.stdout).toBe('321\n0 10 65534\nexample.org\nweb.example.com\n');
  });

  it('shows the flags in the OCI config of inspect', async () => {
    const id = (
      await cli(['run', '-d', '--read-only', '--ulimit', 'nofile=100:200', '--sysctl', 'kernel.sem=1 2 3 4', 'busybox', 'true'])
    ).stdout.trim();
    await berth.wait(id);
    const spec = berth.inspect(id).ociConfig!;
    expect(spec.root?.readonly).toBe(true);
    expect(spec.process?.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }]);
    expect(spec.linux?.sysctl).toEqual({ 'kernel.sem': '1 2 3 4' });
  });
});

describe('bad values', () => {
  it('are one line, exit 125, and leave nothing behind', async () => {
    const before = fs.readdirSync(roots.root, { recursive: true, encoding: 'utf8' }).sort();
    const cases: Array<[string[], string]> = [
      [
        ['--ulimit', 'nofile=10:5'],
        'The soft limit of --ulimit "nofile=10:5" is above its hard limit; give SOFT at most HARD, like nofile=5:5',
      ],
      [
        ['--ulimit', 'files=1'],
        'Expected NAME=SOFT[:HARD] (NAME one of nofile, nproc, core, memlock, stack, ...; -1 for unlimited) for --ulimit but received "files=1"',
      ],
      [
        ['--sysctl', 'kernel.foo=1'],
        'Expected a namespaced sysctl KEY=VALUE (kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem, kernel.shm*, fs.mqueue.*, net.*) for --sysctl but received "kernel.foo=1"',
      ],
      [
        ['--network', 'host', '--sysctl', 'net.ipv4.ip_forward=1'],
        '--sysctl "net.ipv4.ip_forward=1" cannot be set with --network host: the network namespace would be the host\'s; drop one of them',
      ],
      [
        ['--tmpfs', '/x:size=lots'],
        'Expected tmpfs options like rw,exec,size=64m,mode=1777 for --tmpfs but received "size=lots" in "/x:size=lots"',
      ],
      [['--tmpfs', '/'], 'A --tmpfs cannot be mounted on the container\'s root "/"; use --read-only with a tmpfs below it'],
      [['--oom-score-adj', '1001'], 'Expected an integer from -1000 to 1000 for --oom-score-adj but received "1001"'],
      [
        ['--group-add', 'wheel'],
        'Unable to find group "wheel" for --group-add: no matching entry in the image\'s /etc/group; give a numeric gid instead',
      ],
      [['--shm-size', '0'], 'Expected a size above 0, like 64m for --shm-size but received "0"'],
      [
        ['--domainname', 'a b'],
        'Expected a domain name of letters, digits, dots and dashes (at most 63) for --domainname but received "a b"',
      ],
    ];
    for (const [flags, message] of cases) {
      for (const detach of [[], ['-d']]) {
        const r = await cli(['run', ...detach, ...flags, 'busybox', 'true']);
        expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }, JSON.stringify(flags)).toEqual({
          code: 125,
          stdout: '',
          stderr: `berth: ${message}\n`,
        });
      }
    }
    expect(fs.readdirSync(roots.root, { recursive: true, encoding: 'utf8' }).sort()).toEqual(before);
    expect(berth.ps({ all: true })).toEqual([]);
  });
});
