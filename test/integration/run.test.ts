import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/index';
import { busyboxTar } from '../helpers/fixtures';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';

// Every run, whatever its outcome, leaves the host's mounts and cgroups as they were (checked
// after each test by withBusybox).
const fixture = withBusybox();
let roots: TempRoots;
let berth: Berth;
beforeAll(() => {
  ({ berth, roots } = fixture);
});

const sh = (script: string, opts: Record<string, unknown> = {}) =>
  berth.run({ image: 'busybox', cmd: ['sh', '-c', script], rm: true, ...opts });
const cli = (args: string[], input?: string) => runCli(args, { roots, input });

describe('isolation', () => {
  it('gives the container its own hostname, default the short ID', async () => {
    expect((await sh('hostname', { hostname: 'box' })).stdout).toBe('box\n');
    const r = await sh('hostname');
    expect(r.stdout.trim()).toBe(r.id.slice(0, 12));
    expect(execFileSync('hostname').toString().trim()).not.toBe('box');
  });

  it('runs the command as PID 1 and shows only the container processes', async () => {
    const r = await sh('echo $$; ps -o pid,comm | tail -n +2 | wc -l');
    const [pid, count] = r.stdout.trim().split('\n');
    expect(pid).toBe('1');
    // sh, ps, tail and wc: nothing of the host's hundred processes
    expect(Number(count)).toBeLessThanOrEqual(4);
  });

  it('has only loopback networking, and it is up', async () => {
    const r = await sh('ls /sys/class/net; ping -c1 -W1 127.0.0.1 >/dev/null && echo pong');
    expect(r.stdout).toBe('lo\npong\n');
  });

  it('does not leak the host environment; -e sets, PATH defaults', async () => {
    process.env.BERTH_HOST_SECRET = 'leak';
    try {
      const r = await sh('env', { env: ['FOO=bar', 'BERTH_HOST_SECRET'] });
      const env = r.stdout.trim().split('\n').sort();
      expect(env).toContain('FOO=bar');
      expect(env).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
      // KEY alone copies the value explicitly; nothing else of the host comes along.
      expect(env).toContain('BERTH_HOST_SECRET=leak');
      expect(
        env.filter(
          (e) =>
            e.startsWith('HOME=') ||
            e.startsWith('PWD=') ||
            e.startsWith('SHLVL=') ||
            e.startsWith('HOSTNAME=') ||
            e.startsWith('FOO=') ||
            e.startsWith('PATH=') ||
            e.startsWith('BERTH_HOST_SECRET='),
        ).length,
      ).toBe(env.length);
      const plain = await sh('env');
      expect(plain.stdout).not.toContain('BERTH_HOST_SECRET');
      expect(plain.stdout).not.toContain('VITEST');
    } finally {
      delete process.env.BERTH_HOST_SECRET;
    }
  });

  it("drops capabilities to docker's default set, and all of them for a non-root user", async () => {
    const root = await sh('grep -E "^Cap(Eff|Bnd)" /proc/self/status');
    expect(root.stdout).toBe('CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n');
    const user = await sh('id -u; id -g; grep CapEff /proc/self/status', { user: '1000:1000' });
    expect(user.stdout).toBe('1000\n1000\nCapEff:\t0000000000000000\n');
    const named = await sh('id -un', { user: 'app' });
    expect(named.stdout).toBe('app\n');
  });

  it('provides /dev, /dev/shm, /sys read-only and the /etc files', async () => {
    const r = await sh(
      [
        'ls /dev | tr "\\n" " "',
        'echo',
        'echo x > /dev/null && echo null-ok',
        'head -c 4 /dev/zero | wc -c',
        'touch /dev/shm/a && echo shm-ok',
        'touch /sys/x 2>/dev/null || echo sys-ro',
        'cat /etc/hostname',
        'grep -c localhost /etc/hosts',
        'test -f /etc/resolv.conf && echo resolv',
      ].join('; '),
      { hostname: 'etcbox' },
    );
    const lines = r.stdout.split('\n');
    for (const dev of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'pts', 'shm'])
      expect(lines[0].split(' ')).toContain(dev);
    expect(lines.slice(1, 8)).toEqual(['null-ok', '4', 'shm-ok', 'sys-ro', 'etcbox', '2', 'resolv']);
  });

  it('masks sensitive /proc paths and makes others read-only', async () => {
    const r = await sh(
      'wc -c < /proc/timer_list; echo 1 > /proc/sysrq-trigger 2>/dev/null || echo sysrq-ro; echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo sys-ro',
    );
    expect(r.stdout).toBe('0\nsysrq-ro\nsys-ro\n');
  });

  it('confines the container with a seccomp filter: no new user namespace (a way back to capabilities), no setns', async () => {
    const probe =
      'grep Seccomp: /proc/self/status; unshare -U true 2>/dev/null && echo userns || echo no-userns; nsenter -t 1 -u true 2>/dev/null && echo setns || echo no-setns; (true &); wait; echo fork';
    expect((await sh(probe)).stdout).toBe('Seccomp:\t2\nno-userns\nno-setns\nfork\n');
    // docker's spelling turns it off, and the same command then gets its user namespace
    expect((await sh(probe, { securityOpt: ['seccomp=unconfined'] })).stdout).toBe('Seccomp:\t0\nuserns\nno-setns\nfork\n');
    // exec'd processes are confined as the container is
    const p = berth.spawn({ image: 'busybox', cmd: ['sleep', '30'], rm: true });
    try {
      const e = berth.exec(p.id, { cmd: ['sh', '-c', 'grep Seccomp: /proc/self/status; unshare -U true 2>/dev/null || echo no-userns'] });
      let out = '';
      e.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      expect((await e.wait()).exitCode).toBe(0);
      expect(out).toBe('Seccomp:\t2\nno-userns\n');
    } finally {
      p.kill('SIGKILL');
      await p.wait();
    }
    expect((await sh('grep NoNewPrivs: /proc/self/status', { securityOpt: ['no-new-privileges'] })).stdout).toBe('NoNewPrivs:\t1\n');
  });

  it('cannot create device nodes for host disks: the devices cgroup denies them', async () => {
    const r = await sh('mknod /tmp/sda b 8 0 && (head -c 1 /tmp/sda >/dev/null 2>&1 && echo read || echo denied)');
    expect(r.stdout).toBe('denied\n');
  });
});

describe('rootfs', () => {
  it('writes land in the write layer, never in the image layer (the tutorial demonstration)', async () => {
    const image = berth.images.resolve('busybox');
    const [layer] = berth.images.layerDirs(image);
    const r = await berth.run({ image: 'busybox', cmd: ['sh', '-c', 'echo hello > /tmp/new; rm /etc/berth-fixture; cat /tmp/new'] });
    expect(r.stdout).toBe('hello\n');
    const dir = berth.runtime.store.containerDir(r.id);
    expect(fs.readFileSync(path.join(dir, 'upper', 'tmp', 'new'), 'utf8')).toBe('hello\n');
    // the deletion is a whiteout in the upper layer; the image layer keeps the file
    expect(fs.statSync(path.join(dir, 'upper', 'etc', 'berth-fixture')).isCharacterDevice()).toBe(true);
    expect(fs.readFileSync(path.join(layer, 'etc', 'berth-fixture'), 'utf8')).toContain('busybox fixture');
    expect(fs.existsSync(path.join(layer, 'tmp', 'new'))).toBe(false);
    // a second container starts from the pristine image
    const again = await sh('cat /etc/berth-fixture; test -e /tmp/new || echo absent');
    expect(again.stdout).toBe('busybox fixture\nabsent\n');
    await berth.remove(r.id);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it("keeps mount targets out of the write layer: they live in the image's init layer", async () => {
    const r = await berth.run({ image: 'busybox', cmd: ['sh', '-c', 'grep -c quiet /etc/hosts; cat /etc/hostname'], hostname: 'quiet' });
    expect(r.stdout).toBe('1\nquiet\n');
    const dir = berth.runtime.store.containerDir(r.id);
    // nothing was written: the upper dir is empty (no /etc copied up for /etc/hosts and friends)
    expect(fs.readdirSync(path.join(dir, 'upper'))).toEqual([]);
    const [top] = berth.images.layerDirs(berth.images.resolve('busybox'));
    expect(fs.readdirSync(path.join(path.dirname(top), 'init', 'etc')).sort()).toEqual(['hostname', 'hosts', 'resolv.conf']);
    await berth.remove(r.id);
  });

  it('bind-mounts volumes: data reaches the host, :ro refuses writes, missing host dirs are created', async () => {
    const host = path.join(roots.base, 'vol', 'data');
    const ro = path.join(roots.base, 'ro');
    fs.mkdirSync(ro);
    fs.writeFileSync(path.join(ro, 'f'), 'readonly\n');
    const r = await sh('echo from-container > /data/out; cat /ro/f; echo x > /ro/g || echo refused', {
      volumes: [`${host}:/data`, `${ro}:/ro:ro`],
    });
    expect(r.stdout).toBe('readonly\nrefused\n');
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(fs.readFileSync(path.join(host, 'out'), 'utf8')).toBe('from-container\n');
    expect(fs.existsSync(path.join(ro, 'g'))).toBe(false);
  });

  it("follows docker's entrypoint rules", async () => {
    const r = await berth.run({ image: 'busybox', entrypoint: 'echo', cmd: ['from', 'cmd'], rm: true });
    expect(r.stdout).toBe('from cmd\n');
    const alone = await berth.run({ image: 'busybox', entrypoint: ['sh', '-c', 'echo entry'], rm: true });
    expect(alone.stdout).toBe('entry\n');
  });

  it('creates the working directory', async () => {
    expect((await sh('pwd', { workdir: '/srv/app' })).stdout).toBe('/srv/app\n');
  });

  it('refuses a volume target that leaves the rootfs through a symlink, leaving nothing behind', async () => {
    const dir = path.join(roots.base, 'escape');
    fs.mkdirSync(dir);
    const tar = path.join(dir, 'escape.tar');
    fs.copyFileSync(busyboxTar(), tar);
    fs.symlinkSync('../../../../..', path.join(dir, 'escape'));
    execFileSync('tar', ['-rf', tar, '-C', dir, 'escape']);
    await berth.importImage(tar, 'escape');
    const count = berth.ps({ all: true }).length;
    const victim = path.join(roots.base, 'victim');
    await expect(berth.run({ image: 'escape', cmd: ['true'], volumes: [`${victim}:/escape/tmp/pwned`] })).rejects.toThrow(
      /Volume target "\/escape\/tmp\/pwned" leads out of the container's rootfs through a symlink/,
    );
    expect(berth.ps({ all: true }).length).toBe(count);
    expect(fs.existsSync('/tmp/pwned')).toBe(false);
  });
});

describe('cgroups', () => {
  it('writes the limits into the container cgroup and removes it after exit', async () => {
    const proc = berth.spawn({
      image: 'busybox',
      cmd: ['sleep', '30'],
      rm: true,
      memory: '64m',
      memorySwap: '96m',
      cpus: '0.5',
      cpuShares: 512,
      pidsLimit: 50,
      cpusetCpus: '0',
    });
    try {
      const dirs = berth.runtime.cgroups.dirs(proc.id);
      const file = (ctl: string, name: string) =>
        fs
          .readFileSync(
            path.join(
              dirs.find((d) => d.includes(`/${ctl}/`))!,
              name,
            ),
            'utf8',
          )
          .trim();
      expect(file('memory', 'memory.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
      expect(file('memory', 'memory.memsw.limit_in_bytes')).toBe(String(96 * 1024 * 1024));
      expect(file('cpu', 'cpu.cfs_quota_us')).toBe('50000');
      expect(file('cpu', 'cpu.shares')).toBe('512');
      expect(file('pids', 'pids.max')).toBe('50');
      expect(file('cpuset', 'cpuset.cpus')).toBe('0');
      expect(file('pids', 'cgroup.procs')).toBe(String(proc.pid));
      proc.kill('SIGKILL');
      const status = await proc.wait();
      expect(status.exitCode).toBe(137);
      for (const d of dirs) expect(fs.existsSync(d)).toBe(false);
    } finally {
      proc.kill('SIGKILL');
    }
  });

  it('shows the cpuset inside the container', async () => {
    const r = await sh('grep Cpus_allowed_list /proc/self/status', { cpusetCpus: '0' });
    expect(r.stdout).toBe('Cpus_allowed_list:\t0\n');
  });

  it('kills a container over its memory limit with 137 and reports the OOM kill', async () => {
    const r = await berth.run({ image: 'busybox', cmd: ['tail', '/dev/zero'], rm: true, memory: '16m', memorySwap: '16m' });
    expect(r.exitCode).toBe(137);
    expect(r.oomKilled).toBe(true);
    const c = await cli(['run', '--rm', '-m', '16m', '--memory-swap', '16m', 'busybox', 'tail', '/dev/zero']);
    expect(c.code).toBe(137);
    expect(c.stderr).toMatch(/killed by the OOM killer/);
  });

  it('stops a fork loop at the pids limit', async () => {
    const r = await sh('n=0; for i in $(seq 30); do sleep 10 & n=$((n+1)); done; echo started; kill $(jobs -p) 2>/dev/null; ps | wc -l', {
      pidsLimit: 8,
    });
    // sh itself, up to 7 sleeps, ps and wc: the rest could not fork
    const procs = Number(r.stdout.trim().split('\n').pop());
    expect(procs).toBeLessThanOrEqual(9);
    expect(r.stderr).toMatch(/fork|Resource temporarily unavailable/i);
  });
});

describe('CLI', () => {
  it('passes the exit status through; 127 not found, 126 not executable, 125 berth errors', async () => {
    expect((await cli(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3'])).code).toBe(3);
    const notFound = await cli(['run', '--rm', 'busybox', 'nosuchcmd']);
    expect(notFound.code).toBe(127);
    expect(notFound.stderr).toMatch(/"nosuchcmd": executable file not found in \$PATH/);
    const notExec = await cli(['run', '--rm', 'busybox', '/etc/passwd']);
    expect(notExec.code).toBe(126);
    // --pull never: a missing image must not send the test to a registry outside this machine
    const noImage = await cli(['run', '--rm', '--pull', 'never', 'nosuchimage', 'true']);
    expect(noImage.code).toBe(125);
    expect(noImage.stderr).toMatch(/No such image/);
  });

  it('rejects bad input with one clear line and exit 125, leaving nothing behind', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['-m', '6x4'], /Expected a memory size like 64m.*--memory but received "6x4"/],
      [['--cpuset-cpus', '0-999'], /--cpuset-cpus/],
      [['--cpuset-cpus', 'a,b'], /Expected a CPU list/],
      [['-v', './rel/dir:/data'], /absolute host path for --volume but received ".\/rel\/dir"/],
      [['-v', 'rel/dir:/data'], /"rel\/dir" includes invalid characters for a local volume name/],
      [['--pids-limit', '0'], /--pids-limit/],
      [['--storage-driver', 'aufs'], /aufs/],
      [['--bogus'], /unknown flag/],
      [
        ['--security-opt', 'seccomp=/etc/profile.json'],
        /Cannot read the seccomp profile "\/etc\/profile.json" of --security-opt seccomp: no such file/,
      ],
    ];
    for (const [flags, message] of cases) {
      const r = await cli(['run', '--rm', ...flags, 'busybox', 'true']);
      expect(r.code, flags.join(' ')).toBe(125);
      expect(r.stderr, flags.join(' ')).toMatch(message);
    }
    expect((await cli(['ps', '-a', '-q'])).stdout).toBe('');
  });

  it('keeps exited containers for ps -a unless --rm; rm removes them', async () => {
    const r = await cli(['run', '--name', 'keeper', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 4']);
    expect([r.code, r.stdout, r.stderr]).toEqual([4, 'out\n', 'err\n']);
    const ps = await cli(['ps', '-a']);
    expect(ps.stdout).toMatch(/busybox\s+"sh -c 'echo out; e…"|keeper/);
    expect(ps.stdout).toMatch(/Exited \(4\).*keeper/);
    expect((await cli(['ps'])).stdout).not.toMatch(/keeper/);
    const dup = await cli(['run', '--name', 'keeper', 'busybox', 'true']);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toMatch(/already in use/);
    expect((await cli(['rm', 'keeper'])).code).toBe(0);
    expect((await cli(['ps', '-a'])).stdout).not.toMatch(/keeper/);
  });

  it('passes stdin with -i', async () => {
    const r = await cli(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'tr a-z A-Z'], 'hello\n');
    expect(r.stdout).toBe('HELLO\n');
  });

  it('gives -t a real terminal', async () => {
    const r = await cli(['run', '--rm', '-t', 'busybox', 'sh', '-c', 'tty; test -t 1 && echo is-tty; stty size']);
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/\r/g, '')).toMatch(/^\/dev\/pts\/0\nis-tty\n24 80\n$/);
  });

  it('a foreground run whose CLI is killed with SIGKILL leaves the container running under its shim (docker)', async () => {
    const { spawn } = await import('node:child_process');
    const { CLI_PATH } = await import('../helpers/env');
    const child = spawn(process.execPath, [CLI_PATH, 'run', '--name', 'victim', 'busybox', 'sleep', '60'], {
      env: { ...process.env, BERTH_ROOT: roots.root, BERTH_RUNROOT: roots.runRoot },
      stdio: 'ignore',
    });
    const deadline = Date.now() + 10_000;
    while (!berth.ps().some((c) => c.config.name === 'victim') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const running = berth.inspect('victim');
    expect(running.state.status).toBe('running');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // the CLI was only attached (src/cli/run-attached.ts): the shim keeps the container, and rm -f
    // takes everything it had
    await new Promise((r) => setTimeout(r, 200));
    expect(fs.existsSync(`/proc/${running.state.pid}`)).toBe(true);
    const ps = await cli(['ps']);
    expect(ps.stdout).toMatch(/Up .*victim/);
    expect((await cli(['rm', '-f', 'victim'])).code).toBe(0);
    for (const d of berth.runtime.cgroups.dirs(running.config.id)) expect(fs.existsSync(d)).toBe(false);
  });

  it('refuses to run without root, naming the reason', async () => {
    const { spawnSync } = await import('node:child_process');
    const { CLI_PATH } = await import('../helpers/env');
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI_PATH, 'run', 'busybox', 'true'],
      {
        env: { PATH: process.env.PATH, BERTH_ROOT: roots.root, BERTH_RUNROOT: roots.runRoot },
        cwd: '/',
      },
    );
    expect(r.status).toBe(125);
    expect(r.stderr.toString()).toMatch(/berth needs root/);
  });
});
