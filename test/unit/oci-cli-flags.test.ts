// berth-oci's command line against a fake runtime: runc's global flags and their Go spellings,
// help, version, the logs (text and json) and the one-line errors; and the built executable.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors';
import { FakeRuntime, cli, expectOneLineError } from '../helpers/oci-fake-runtime';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-oci-cli-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

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
