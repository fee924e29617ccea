// docker's metadata and environment flags of `berth run`: --env-file, -l/--label, --label-file
// (shown by inspect, over the image's labels), --cidfile (written at create, refused if it exists).
import { spawnSync } from 'node:child_process';
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

const cli = (args: string[], env?: NodeJS.ProcessEnv) => runCli(args, { roots, env });
const file = (name: string, content: string) => {
  const p = path.join(roots.base, name);
  fs.writeFileSync(p, content);
  return p;
};

describe('--env-file', () => {
  it("reads docker's format: values as written, comments skipped, a bare KEY from the caller, -e over the file", async () => {
    const envFile = file('app.env', '# settings\n  SPACED=a b \nQUOTED="q"\nEQ=x=y\n\nFROM_CALLER\nNOT_SET_ANYWHERE\nOVER=file\n');
    const second = file('more.env', 'SECOND=2\r\n');
    const r = await cli(['run', '--rm', '--env-file', envFile, '--env-file', second, '-e', 'OVER=flag', 'busybox', 'env'], {
      FROM_CALLER: 'here',
    });
    expect(r.code, r.stderr).toBe(0);
    const env = r.stdout.split('\n');
    expect(env).toEqual(expect.arrayContaining(['SPACED=a b ', 'QUOTED="q"', 'EQ=x=y', 'FROM_CALLER=here', 'OVER=flag', 'SECOND=2']));
    expect(env.filter((l) => l.startsWith('OVER='))).toEqual(['OVER=flag']);
    expect(env.some((l) => l.startsWith('NOT_SET_ANYWHERE'))).toBe(false);
  });

  it('a missing file is berth’s one-line error, not Node’s (the executable runs `node --`)', async () => {
    const missing = path.join(path.dirname(file('x.env', '')), 'missing.env');
    const r = await cli(['run', '--rm', '--env-file', missing, 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^berth: .*--env-file.*missing\.env.*\n$/);
    expect(berth.ps({ all: true })).toEqual([]);
    // and so through the installed executable itself (its #! line)
    const direct = spawnSync(
      CLI_PATH,
      ['--root', roots.root, '--runroot', roots.runRoot, 'run', '--env-file', missing, 'busybox', 'true'],
      {
        encoding: 'utf8',
      },
    );
    expect(direct.status).toBe(125);
    expect(direct.stderr).toBe(r.stderr);
  });

  it('refuses a bad line with its number, exit 125, nothing made', async () => {
    const bad = file('bad.env', 'A=1\nBAD KEY=2\n');
    const r = await cli(['run', '--rm', '--env-file', bad, 'busybox', 'true']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 125,
      stderr: `berth: Variable "BAD KEY" on line 2 of --env-file "${bad}" contains whitespace; write KEY=VALUE\n`,
    });
    expect(berth.ps({ all: true })).toEqual([]);
  });
});

describe('labels', () => {
  it('-l and --label-file are in the config inspect shows, -l over the file', async () => {
    const labels = file('labels', '# team labels\nteam=core\nbare\ntier=file\n');
    const r = await cli([
      'run',
      '-d',
      '-l',
      'app=web',
      '--label',
      'empty',
      '--label',
      'tier=flag',
      '--label-file',
      labels,
      'busybox',
      'true',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const inspected = JSON.parse((await cli(['inspect', r.stdout.trim()])).stdout) as Array<{
      Config: { Labels?: Record<string, string> };
    }>;
    expect(inspected[0].Config.Labels).toEqual({ team: 'core', tier: 'flag', app: 'web', empty: '' });
  });

  it('refuses a label with whitespace in its key', async () => {
    const r = await cli(['run', '--rm', '-l', 'a b=c', 'busybox', 'true']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 125,
      stderr: 'berth: Expected KEY=VALUE with a KEY without whitespace for --label but received "a b=c"\n',
    });
  });
});

describe('--cidfile', () => {
  it("holds the container's full ID, foreground and detached", async () => {
    const fg = path.join(roots.base, 'fg.cid');
    const r = await cli(['run', '--name', 'cid-fg', '--cidfile', fg, 'busybox', 'true']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(fg, 'utf8')).toBe(berth.inspect('cid-fg').config.id);
    const bg = path.join(roots.base, 'bg.cid');
    const d = await cli(['run', '-d', '--cidfile', bg, 'busybox', 'true']);
    expect(fs.readFileSync(bg, 'utf8')).toBe(d.stdout.trim());
    expect(d.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is refused when it exists (the file kept as it was), and removed when the container cannot be made', async () => {
    const taken = file('taken.cid', 'other');
    for (const detach of [[], ['-d']]) {
      const r = await cli(['run', ...detach, '--cidfile', taken, 'busybox', 'true']);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        code: 125,
        stdout: '',
        stderr: `berth: Container ID file "${taken}" exists: make sure the other container is not running, or delete the file\n`,
      });
    }
    expect(fs.readFileSync(taken, 'utf8')).toBe('other');
    const missing = path.join(roots.base, 'missing.cid');
    for (const detach of [[], ['-d']]) {
      const r = await cli(['run', ...detach, '--pull', 'never', '--cidfile', missing, 'no-such-image', 'true']);
      expect(r.code).toBe(125);
      expect(fs.existsSync(missing)).toBe(false);
    }
    expect(berth.ps({ all: true })).toEqual([]);
  });
});
