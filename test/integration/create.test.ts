// `berth create`: run's options, the container recorded and not started (no process, no cgroup),
// `berth start` runs it; bad input one line, 125, nothing recorded; --help is run's table minus -d.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTAINER_FLAGS } from '../../src/cli/container-flags';
import { optionLines } from '../../src/cli/help';
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
/** Every cgroup directory named after the container, in any hierarchy. */
const cgroupsOf = (id: string) =>
  fs
    .readdirSync('/sys/fs/cgroup')
    .flatMap((h) => [path.join('/sys/fs/cgroup', h, 'berth', id), path.join('/sys/fs/cgroup', 'berth', id)])
    .filter((d) => fs.existsSync(d));

describe('berth create', () => {
  it('records the container with its options and starts nothing; start runs it', async () => {
    const cid = path.join(roots.base, 'created.cid');
    const r = await cli([
      'create',
      '--name',
      'made',
      '--cidfile',
      cid,
      '-l',
      'role=test',
      '--read-only',
      '--ulimit',
      'nofile=100:200',
      'busybox',
      'sh',
      '-c',
      'ulimit -n; touch /x || echo read-only',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.readFileSync(cid, 'utf8')).toBe(id);
    const created = berth.inspect('made');
    expect(created.state.status).toBe('created');
    expect(created.state.pid).toBeUndefined();
    expect(created.config.labels).toEqual({ role: 'test' });
    expect(cgroupsOf(id)).toEqual([]);
    expect((await cli(['ps', '-a', '--format', 'json'])).stdout).toContain('"created"');

    expect(await cli(['start', 'made'])).toMatchObject({ code: 0, stdout: 'made\n' });
    expect((await cli(['wait', 'made'])).stdout).toBe('0\n');
    expect((await cli(['logs', 'made'])).stdout).toBe('100\nread-only\n');
  });

  it('refuses bad values with one line and 125, recording nothing', async () => {
    const before = fs.readdirSync(roots.root, { recursive: true, encoding: 'utf8' }).sort();
    const cases: Array<[string[], string]> = [
      [
        ['--ulimit', 'nofile=10:5'],
        'The soft limit of --ulimit "nofile=10:5" is above its hard limit; give SOFT at most HARD, like nofile=5:5',
      ],
      [
        ['--sysctl', 'kernel.foo=1'],
        'Expected a namespaced sysctl KEY=VALUE (kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem, kernel.shm*, fs.mqueue.*, net.*) for --sysctl but received "kernel.foo=1"',
      ],
      [['-d'], "unknown flag: -d; see 'berth create --help'"],
    ];
    for (const [flags, message] of cases) {
      const r = await cli(['create', ...flags, 'busybox', 'true']);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }, JSON.stringify(flags)).toEqual({
        code: 125,
        stdout: '',
        stderr: `berth: ${message}\n`,
      });
    }
    expect(fs.readdirSync(roots.root, { recursive: true, encoding: 'utf8' }).sort()).toEqual(before);
    expect(berth.ps({ all: true })).toEqual([]);
  });

  it("--help lists run's flags (from the same table), and run --help has -d besides", async () => {
    const help = (await cli(['create', '--help'])).stdout;
    for (const line of optionLines(CONTAINER_FLAGS)) expect(help).toContain(line.trim().split(/\s{3,}/)[0]);
    const runHelp = (await cli(['run', '--help'])).stdout;
    for (const flag of [
      '--read-only',
      '--tmpfs',
      '--ulimit',
      '--sysctl',
      '--env-file',
      '--label-file',
      '--cidfile',
      '--cpu-period',
      '--device-write-iops',
    ])
      for (const h of [help, runHelp]) expect(h).toContain(flag);
    expect(runHelp).toContain('-d, --detach');
    expect(help).not.toContain('--detach');
  });
});
