// berth-oci driven as runc is driven: bundles on disk, the command line, its state dir. Every
// test leaves the host's mounts and cgroups as they were.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hostChanges, hostSnapshot, type HostSnapshot } from '../helpers/env';
import { BERTH_OCI as OCI, OciSandbox, type OciConfig } from '../helpers/oci';
import { REPO_ROOT } from '../helpers/paths';

let sandbox: OciSandbox;
let base: string;
let root: string;
let before: HostSnapshot;

const oci = (...args: string[]) => sandbox.oci(args);
const bundle = (name: string, edit?: (c: OciConfig) => void) => sandbox.bundle(name, edit);
const state = (id: string) =>
  JSON.parse(oci('state', id).stdout) as { status: string; pid: number; id: string; bundle: string; ociVersion: string };

beforeAll(() => {
  sandbox = new OciSandbox('berth-oci-');
  ({ base, root } = sandbox);
});
afterAll(() => sandbox.remove());
beforeEach(() => {
  before = hostSnapshot();
});
afterEach(() => {
  sandbox.deleteAll();
  expect(hostChanges(before)).toEqual([]);
});

describe('berth-oci lifecycle', () => {
  it('create leaves the init waiting, start runs the process, state follows, delete removes it', () => {
    const b = bundle('life', (c) => {
      c.root.readonly = false;
      c.process.args = ['sh', '-c', 'echo started > /tmp/out; exec sleep 30'];
    });
    const pidFile = path.join(base, 'life.pid');
    const created = oci('create', '--bundle', b, '--pid-file', pidFile, 'life');
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    const s = state('life');
    expect(s).toMatchObject({ ociVersion: '1.1.0', id: 'life', status: 'created', bundle: b });
    expect(Number(fs.readFileSync(pidFile, 'utf8'))).toBe(s.pid);
    // mounts and pivot_root are done, but the user process has not run
    expect(fs.readlinkSync(`/proc/${s.pid}/root`)).toBe('/');
    expect(fs.existsSync(`/proc/${s.pid}/root/tmp/out`)).toBe(false);
    expect(oci('start', 'life').status).toBe(0);
    expect(state('life').status).toBe('running');
    for (let i = 0; i < 100 && !fs.existsSync(`/proc/${s.pid}/root/tmp/out`); i++) spawnSync('sleep', ['0.02']);
    expect(fs.readFileSync(`/proc/${s.pid}/root/tmp/out`, 'utf8')).toBe('started\n');
    expect(oci('start', 'life').stderr).toMatch(/cannot start a container that has already started/);
    const refused = oci('delete', 'life');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/not stopped: running/);
    expect(oci('kill', 'life', 'KILL').status).toBe(0);
    for (let i = 0; i < 100 && state('life').status !== 'stopped'; i++) spawnSync('sleep', ['0.02']);
    expect(state('life').status).toBe('stopped');
    expect(oci('delete', 'life').status).toBe(0);
    expect(JSON.parse(oci('list', '--format', 'json').stdout || '[]')).toEqual([]);
  });

  it('run passes the exit status through, with the hostname, user and cwd of the config', () => {
    const b = bundle('run', (c) => {
      c.hostname = 'ocihost';
      c.process.user = { uid: 1000, gid: 1000, additionalGids: [10] };
      c.process.cwd = '/tmp';
      c.process.args = ['sh', '-c', 'echo "$(hostname) $(id -u) $(id -G) $(pwd)"; exit 7'];
    });
    const r = oci('run', '--bundle', b, 'run');
    expect(r.stdout).toBe('ocihost 1000 1000 10 /tmp\n');
    expect(r.status).toBe(7);
    expect(fs.existsSync(path.join(root, 'run'))).toBe(false);
  });

  it('--preserve-fds passes the caller’s fds 3.. to the process of run and of exec, and no other', () => {
    const b = bundle('pfd', (c) => {
      c.process.args = ['sh', '-c', 'read line <&3; echo "run $line"; ls /proc/self/fd | tr "\\n" " "; exec sleep 30'];
    });
    const given = path.join(base, 'pfd.in');
    fs.writeFileSync(given, 'from-the-caller\n');
    let pfdCalls = 0;
    const withFds = (args: string[]) => {
      const out = path.join(base, `pfd.${++pfdCalls}`);
      const [i, o, e, extra] = [
        fs.openSync('/dev/null', 'r'),
        fs.openSync(out, 'w'),
        fs.openSync(`${out}.err`, 'w'),
        fs.openSync(given, 'r'),
      ];
      const r = spawnSync(OCI, ['--root', root, ...args], { stdio: [i, o, e, extra, extra], timeout: 30_000 });
      for (const fd of [i, o, e, extra]) fs.closeSync(fd);
      return { status: r.status ?? -1, stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(`${out}.err`, 'utf8') };
    };
    expect(withFds(['run', '--detach', '--preserve-fds', '1', '--bundle', b, 'pfd']).status).toBe(0);
    const ex = withFds(['exec', '--preserve-fds', '2', 'pfd', 'sh', '-c', 'cat <&4; ls /proc/self/fd | tr "\\n" " "']);
    expect(ex.stderr).toBe('');
    // (ls's own directory fd is the last)
    expect(ex.stdout).toBe('from-the-caller\n0 1 2 3 4 5 ');
    for (let i = 0; i < 100 && !fs.readFileSync(path.join(base, `pfd.${pfdCalls - 1}`), 'utf8').includes(' 3 '); i++)
      spawnSync('sleep', ['0.02']);
    expect(fs.readFileSync(path.join(base, `pfd.${pfdCalls - 1}`), 'utf8')).toBe('run from-the-caller\n0 1 2 3 4 ');
  });

  it('exec joins a running container; pause freezes it and resume thaws it', () => {
    const b = bundle('ex', (c) => {
      c.hostname = 'ocibox';
      c.process.args = ['sleep', '30'];
    });
    expect(oci('run', '--detach', '--bundle', b, 'ex').status).toBe(0);
    const r = oci('exec', 'ex', 'sh', '-c', 'echo in $(hostname); exit 4');
    expect(r.stdout).toBe('in ocibox\n');
    expect(r.status).toBe(4);
    expect(oci('pause', 'ex').status).toBe(0);
    expect(state('ex').status).toBe('paused');
    expect(oci('resume', 'ex').status).toBe(0);
    expect(state('ex').status).toBe('running');
    expect(JSON.parse(oci('ps', '--format', 'json', 'ex').stdout)).toContain(state('ex').pid);
  });

  it("applies linux.seccomp (docker's profile) and the memory limit of the config", () => {
    const profile = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'oci', 'docker-default-seccomp.json'), 'utf8'));
    const { renderDockerProfile } = require(path.join(REPO_ROOT, 'dist', 'oci', 'seccomp', 'docker-profile.js'));
    const b = bundle('sec', (c) => {
      c.linux.seccomp = renderDockerProfile(profile, {
        arch: 'amd64',
        capabilities: c.process.capabilities.bounding,
        kernelRelease: os.release(),
      });
      c.linux.resources = { memory: { limit: 64 * 1024 * 1024 } };
      c.process.args = [
        'sh',
        '-c',
        'grep Seccomp: /proc/self/status; unshare -U true 2>/dev/null && echo unshare-ok || echo unshare-denied',
      ];
    });
    const r = oci('run', '--bundle', b, 'sec');
    expect(r.stdout).toBe('Seccomp:\t2\nunshare-denied\n');
    expect(r.status).toBe(0);
  });
});

describe('berth-oci bad input', () => {
  it('is one line and exit 1, and leaves no state dir behind', () => {
    const noConfig = path.join(base, 'empty');
    fs.mkdirSync(noConfig);
    const cases: Array<[string[], RegExp]> = [
      [['create', '--bundle', noConfig, 'x1'], /has no config\.json; make one with `berth-oci spec`/],
      [['create', '--bundle', bundle('badroot', (c) => (c.root.path = 'nowhere')), 'x2'], /root\.path: ".*nowhere" is not a directory/],
      [
        ['create', '--bundle', bundle('badcmd', (c) => (c.process.args = ['/no/such/cmd'])), 'x3'],
        /exec: "\/no\/such\/cmd": executable file not found in \$PATH/,
      ],
      [['create', '--bundle', bundle('slash'), 'a/b'], /Invalid container ID "a\/b"/],
      [['start', 'nosuch'], /container does not exist: nosuch/],
    ];
    fs.writeFileSync(path.join(bundle('badjson'), 'config.json'), '{\n  "ociVersion": "1.0.2",\n  "process": {,\n}');
    cases.push([['create', '--bundle', path.join(base, 'badjson'), 'x4'], /is not valid JSON at line 3 column/]);
    for (const [args, message] of cases) {
      const r = oci(...args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(fs.existsSync(root) ? fs.readdirSync(root) : []).toEqual([]);
  });

  it('an ID in use is refused and the first container is untouched; delete --force of a created one cleans up', () => {
    const b = bundle('dup', (c) => (c.process.args = ['true']));
    expect(oci('create', '--bundle', b, 'dup').status).toBe(0);
    const again = oci('create', '--bundle', b, 'dup');
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/container with id exists: dup/);
    expect(state('dup').status).toBe('created');
    const pid = state('dup').pid;
    expect(oci('delete', '--force', 'dup').status).toBe(0);
    expect(fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')).toBe(false);
  });

  it('an init SIGKILLed while created or while running is stopped, and delete cleans up its cgroup and state', () => {
    const b = bundle('killed', (c) => (c.process.args = ['sleep', '30']));
    for (const [id, started] of [
      ['k1', false],
      ['k2', true],
    ] as const) {
      expect(oci('create', '--bundle', b, id).status).toBe(0);
      if (started) expect(oci('start', id).status).toBe(0);
      const { pid } = state(id);
      const cgroups = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      expect(cgroups).toMatch(new RegExp(`/berth-oci/${id}$`, 'm'));
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && state(id).status !== 'stopped'; i++) spawnSync('sleep', ['0.02']);
      expect(state(id).status).toBe('stopped');
      // a created one's start is refused once its init is gone
      if (!started) expect(oci('start', id).stderr).toMatch(/cannot start a container that has stopped/);
      expect(oci('delete', id).status).toBe(0);
      expect(oci('state', id).stderr).toMatch(/container does not exist/);
    }
    // the host check after each test finds no cgroup or mount left
  });

  it('a bind mount destination that leads out of the rootfs through a symlink is refused at create', () => {
    const evil = path.join(base, 'evil-rootfs');
    fs.cpSync(sandbox.rootfs, evil, { recursive: true, verbatimSymlinks: true });
    fs.symlinkSync('../../../../../../../../tmp', path.join(evil, 'escape'));
    const dir = path.join(base, 'evil');
    fs.mkdirSync(dir);
    const r0 = spawnSync(OCI, ['spec', '--bundle', dir], { encoding: 'utf8' });
    expect(r0.status).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as OciConfig;
    config.root.path = evil;
    config.process.terminal = false;
    config.process.args = ['true'];
    config.mounts = [...(config.mounts ?? []), { destination: '/escape/x', type: 'bind', source: base, options: ['rbind'] }];
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    const r = oci('create', '--bundle', dir, 'evil');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/create evil: mount destination \/escape\/x leads out of the rootfs through a symlink/);
    expect(fs.existsSync('/tmp/x')).toBe(false);
    expect(fs.existsSync(path.join(root, 'evil'))).toBe(false);
  });
});
