import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/index';
import { withBusybox } from '../helpers/berth';
import { runCli, type CliResult, type TempRoots } from '../helpers/env';

// Bad input is a usage error: exactly one stderr line, exit 125, nothing on stdout, and nothing
// made — no container record, no volume directory, no cgroup (withBusybox checks the host's
// mounts and cgroups after each test).
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

function expectRefused(r: CliResult, message: string, what: string): void {
  expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }, what).toEqual({ code: 125, stdout: '', stderr: `berth: ${message}\n` });
}

/** Every path under dir, to show that a refused command wrote nothing there. */
function tree(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('berth run refuses bad flags before anything is made', () => {
  it('one line, 125, no container, no volume directory', async () => {
    const before = tree(roots.root);
    const volume = path.join(roots.base, 'would-be-made');
    const cpus = os.availableParallelism();
    const many = String(cpus + 1000);
    const available = cpus === 1 ? 'is only 1 CPU' : `are only ${cpus} CPUs`;
    const cases: Array<[string[], string]> = [
      [
        ['--cpus', many],
        `Expected a number of CPUs from 0.01 to ${cpus}.00 for --cpus but received "${many}": there ${available} available`,
      ],
      [['--name', 'a\nb'], 'Expected a container name of letters, digits, _ . - for --name but received "a\\nb"'],
      [['--hostname', 'a\nb'], 'Expected a hostname of letters, digits, dots and dashes (at most 63) for --hostname but received "a\\nb"'],
      // each of these used to be checked only after the volume directory was made
      [['-v', `${volume}:/data`, '-e', 'A\nB=c'], 'Expected KEY=VALUE for --env but received "A\\nB=c"'],
      [
        ['-v', `${volume}:/data`, '-d', '--restart', 'sometimes'],
        'Expected no, always, unless-stopped or on-failure[:MAX_RETRIES] for --restart but received "sometimes"',
      ],
      [
        ['-v', `${volume}:/data`, '-d', '--log-opt', 'max-size=lots'],
        'Expected a memory size like 64m, 512k or 1g for --log-opt max-size but received "lots"',
      ],
      [
        ['-v', `${volume}:/data`, '--security-opt', 'seccomp=\u001b[2J'],
        'Cannot read the seccomp profile "\\u001b[2J" of --security-opt seccomp: no such file; give a docker seccomp profile (JSON file), or seccomp=unconfined',
      ],
      [['-w', 'relative'], 'Expected an absolute path for --workdir but received "relative"'],
      // arg alone took --rm=anything for --rm, and cut --flag=value at a line break
      [['--rm=maybe'], 'Expected true or false for --rm but received "maybe"'],
      [['--memory=1\ng'], 'Expected a memory size like 64m, 512k or 1g for --memory but received "1\\ng"'],
    ];
    for (const [flags, message] of cases) {
      expectRefused(await cli(['run', '--rm', ...flags, 'busybox', 'true']), message, JSON.stringify(flags));
    }
    expect(fs.existsSync(volume)).toBe(false);
    expect(tree(roots.root)).toEqual(before);
    expect((await cli(['ps', '-a', '-q'])).stdout).toBe('');
  });
});

describe('stop -t and kill -s are checked before the containers', () => {
  it('refuses a bad timeout or signal with 125, and the container keeps running', async () => {
    await berth.runDetached({ image: 'busybox', cmd: ['sleep', '30'], name: 'target' });
    const signal = (got: string) =>
      `Expected a signal like SIGTERM, TERM, 15 or SIGRTMIN+3 (numbers 1 to 64) for --signal but received "${got}"`;
    expectRefused(
      await cli(['stop', '-t', 'abc', 'target']),
      'Expected a number of seconds from 0, like 10, for --time but received "abc"',
      'stop -t abc',
    );
    expectRefused(
      await cli(['restart', '--time=-1', 'target']),
      'Expected a number of seconds from 0, like 10, for --time but received "-1"',
      'restart --time=-1',
    );
    expectRefused(await cli(['kill', '-s', '99999', 'target']), signal('99999'), 'kill -s 99999');
    expectRefused(await cli(['kill', '-s', 'SIGFOO', 'target']), signal('SIGFOO'), 'kill -s SIGFOO');
    expect(berth.inspect('target').state.status).toBe('running');
    // what docker accepts still works: a lower-case name without SIG
    expect(await cli(['kill', '-s', 'cont', 'target'])).toMatchObject({ code: 0, stdout: 'target\n' });
    expect(await cli(['stop', '-t', '0', 'target'])).toMatchObject({ code: 0, stdout: 'target\n' });
  });

  it('prints a name with a newline in an error on one line', async () => {
    const r = await cli(['rm', 'no\nsuch']);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('no\\nsuch');
  });
});

describe('--root and --runroot naming a file', () => {
  it('says the root is not a directory, for every command, and changes nothing', async () => {
    const file = path.join(roots.base, 'a-file');
    fs.writeFileSync(file, 'keep');
    const before = tree(roots.root);
    expectRefused(
      await cli(['--root', file, 'ps']),
      `The state root ${file} is not a directory; pass --root a directory (or remove the file)`,
      '--root FILE ps',
    );
    expectRefused(
      await cli(['--runroot', file, 'run', '--rm', 'busybox', 'true']),
      `The run root ${file} is not a directory; pass --runroot a directory (or remove the file)`,
      '--runroot FILE run',
    );
    expectRefused(
      await cli(['--root', `${file}/sub`, 'images']),
      `The state root ${file}/sub is not a directory: ${file} is a file; pass --root a directory (or remove the file)`,
      '--root FILE/sub images',
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('keep');
    expect(tree(roots.root)).toEqual(before);
  });
});
