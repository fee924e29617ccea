// docker's device and security flags of `berth run`: --device (the node, its major:minor and its
// device cgroup rule), --device-cgroup-rule (a node made with mknod inside usable or refused),
// --security-opt seccomp=FILE (docker's profile format), apparmor=/label= (no-ops on this host),
// systempaths=unconfined, --privileged, --cap-add/--cap-drop (CapEff), and bad input.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/index';
import { CAPS, DEFAULT_CAPS } from '../../src/native/constants';
import { lsmHost } from '../../src/oci/lsm';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';
import { OciSandbox } from '../helpers/oci';
import { REPO_ROOT } from '../helpers/paths';

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
const run = (flags: string[], script: string) => cli(['run', '--rm', '--network', 'none', ...flags, 'busybox', 'sh', '-c', script]);
const capMask = (caps: readonly string[]) => caps.reduce((m, c) => m | (1n << BigInt(CAPS[c])), 0n);
const capEff = (stdout: string) => BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(stdout)![1]}`);

// A block device outside docker's default rules (b *:* m only): loop0, present on this host.
const LOOP = '/dev/loop0';
const hasLoop = fs.existsSync(LOOP) && fs.statSync(LOOP).isBlockDevice();

describe('--device', () => {
  it('makes the node at the container path with the host major:minor, usable', async () => {
    const r = await run(['--device', '/dev/zero:/dev/myzero'], "stat -c '%F %t:%T' /dev/myzero; head -c4 /dev/myzero | od -An -tx1");
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe('character special file 1:5\n 00 00 00 00\n');
  });

  it.runIf(hasLoop)('allows a device outside the defaults (its own cgroup rule); without it the same node is refused', async () => {
    const open = 'exec 3<LOOP && echo read-ok; exec 4>LOOP && echo write-ok';
    const given = await run(['--device', LOOP], `stat -c '%F %t:%T' ${LOOP}; ${open.replace(/LOOP/g, LOOP)}`);
    expect([given.code, given.stderr]).toEqual([0, '']);
    expect(given.stdout).toBe('block special file 7:0\nread-ok\nwrite-ok\n');
    // the same node made by hand (CAP_MKNOD is a default): docker's rules deny opening it
    const made = await run([], `mknod /tmp/l b 7 0 && ${open.replace(/LOOP/g, '/tmp/l')}`);
    expect(made.stdout).toBe('');
    expect(made.stderr).toMatch(/can't open '?\/tmp\/l'?: Operation not permitted/);
  });

  it.runIf(hasLoop)('PERMS r: reads work, opening for write is refused by the device cgroup', async () => {
    const r = await run(['--device', `${LOOP}:/dev/xloop:r`], 'exec 3</dev/xloop && echo read-ok; exec 4>/dev/xloop && echo write-ok');
    expect(r.stdout).toBe('read-ok\n');
    expect(r.stderr).toMatch(/can't (create|open) '?\/dev\/xloop'?: Operation not permitted/);
    expect(berth.ps({ all: true })).toEqual([]);
  });

  it.runIf(hasLoop)('shows the nodes and the rules after docker’s defaults in the OCI config (berth inspect)', async () => {
    const r = await cli([
      'create',
      '--network',
      'none',
      '--device',
      `${LOOP}:/dev/d/xloop:rw`,
      '--device-cgroup-rule',
      'c 10:* m',
      'busybox',
      'true',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const spec = berth.inspect(r.stdout.trim()).ociConfig!;
    expect(spec.linux!.devices).toEqual([expect.objectContaining({ type: 'b', path: '/dev/d/xloop', major: 7, minor: 0 })]);
    const rules = spec.linux!.resources!.devices!;
    expect(rules[0]).toEqual({ allow: false, access: 'rwm' });
    expect(rules.slice(-2)).toEqual([
      { allow: true, type: 'b', major: 7, minor: 0, access: 'rw' },
      { allow: true, type: 'c', major: 10, minor: null, access: 'm' },
    ]);
  });
});

describe('--device-cgroup-rule', () => {
  it.runIf(hasLoop)('a node made with mknod inside is usable with the rule, refused without', async () => {
    const script = 'mknod /tmp/n b 7 0 && head -c1 /tmp/n >/dev/null && echo usable';
    const allowed = await run(['--device-cgroup-rule', 'b 7:* rwm'], script);
    expect([allowed.code, allowed.stdout, allowed.stderr]).toEqual([0, 'usable\n', '']);
    const refused = await run([], script);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/\/tmp\/n: Operation not permitted/);
  });
});

describe('--security-opt seccomp=FILE', () => {
  // docker's profile format: archMap, `name` and `names`, errnoRet, a rule kept only with a capability
  const profile = {
    defaultAction: 'SCMP_ACT_ALLOW',
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }],
    syscalls: [
      { name: 'mkdir', action: 'SCMP_ACT_ERRNO', errnoRet: 1, comment: 'no directories' },
      { names: ['mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
      { names: ['chmod', 'fchmodat', 'fchmodat2'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, includes: { caps: ['CAP_SYS_ADMIN'] } },
    ],
  };
  let file: string;
  beforeAll(() => {
    file = path.join(roots.base, 'no-mkdir.json');
    fs.writeFileSync(file, JSON.stringify(profile));
  });

  it("denies what the profile denies (with its errno), lets the rest through; rules follow the container's capabilities", async () => {
    const script =
      'grep Seccomp: /proc/self/status; touch /tmp/f && echo touched; mkdir /tmp/d || echo no-mkdir; chmod 600 /tmp/f && echo chmod-ok';
    const r = await run(['--security-opt', `seccomp=${file}`], script);
    expect(r.stdout).toBe('Seccomp:\t2\ntouched\nno-mkdir\nchmod-ok\n');
    expect(r.stderr).toMatch(/mkdir: can't create directory '\/tmp\/d': Operation not permitted/);
    // with CAP_SYS_ADMIN the fchmodat rule is part of the filter (EACCES)
    const admin = await run(
      ['--security-opt', `seccomp:${file}`, '--cap-add', 'SYS_ADMIN'],
      'touch /tmp/f; chmod 600 /tmp/f || echo chmod-denied',
    );
    expect(admin.stdout).toBe('chmod-denied\n');
    expect(admin.stderr).toMatch(/Permission denied/);
  });

  it('holds for processes exec’d into the container; inspect shows the rendered linux.seccomp', async () => {
    const d = await cli([
      'run',
      '-d',
      '--network',
      'none',
      '--security-opt',
      `seccomp=${file}`,
      'busybox',
      'sh',
      '-c',
      'mkdir /tmp/init 2>/tmp/err; touch /tmp/ready; exec sleep 60',
    ]);
    expect(d.code, d.stderr).toBe(0);
    const id = d.stdout.trim();
    const e = await cli([
      'exec',
      id,
      'sh',
      '-c',
      'while [ ! -e /tmp/ready ]; do sleep 0.05; done; cat /tmp/err; mkdir /tmp/e || echo no-mkdir; grep Seccomp: /proc/self/status',
    ]);
    expect(e.stdout).toBe("mkdir: can't create directory '/tmp/init': Operation not permitted\nno-mkdir\nSeccomp:\t2\n");
    const spec = berth.inspect(id).ociConfig!;
    expect(spec.annotations!['org.berth.seccomp']).toBe('profile');
    expect(spec.linux!.seccomp).toEqual({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [
        { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        { names: ['mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
      ],
    });
  });

  it("docker's own default profile: everything ordinary works; its CAP_SYS_ADMIN rules follow --cap-add", async () => {
    const dockerDefault = path.join(REPO_ROOT, 'test', 'fixtures', 'oci', 'docker-default-seccomp.json');
    const script =
      'grep Seccomp: /proc/self/status; mkdir /tmp/d && echo ok > /tmp/d/f && cat /tmp/d/f; mkdir /tmp/m && mount -t tmpfs t /tmp/m && echo mounted';
    const plain = await run(['--security-opt', `seccomp=${dockerDefault}`], script);
    expect(plain.stdout).toBe('Seccomp:\t2\nok\n');
    // docker's profile allows mount(2) with CAP_SYS_ADMIN (berth's built-in filter never does)
    const admin = await run(['--security-opt', `seccomp=${dockerDefault}`, '--cap-add', 'SYS_ADMIN'], script);
    expect([admin.stdout, admin.stderr]).toEqual(['Seccomp:\t2\nok\nmounted\n', '']);
    const builtin = await run(['--cap-add', 'SYS_ADMIN'], script);
    expect(builtin.stdout).toBe('Seccomp:\t2\nok\n');
  });

  it('--privileged runs without it, as docker (and takes --device too)', async () => {
    const both = await run(['--privileged', '--device', '/dev/zero:/dev/myzero'], "stat -c '%t:%T' /dev/myzero /dev/zero");
    expect(both.stdout).toBe('1:5\n1:5\n');
    const r = await run(
      ['--privileged', '--security-opt', `seccomp=${file}`],
      'grep Seccomp: /proc/self/status; mkdir /tmp/d && echo made',
    );
    expect(r.stdout).toBe('Seccomp:\t0\nmade\n');
  });
});

describe('--security-opt: LSM options, no-new-privileges, systempaths', () => {
  const lsm = lsmHost();
  it.runIf(!lsm.apparmor && !lsm.selinux)('apparmor= and label= are accepted (kept, nothing applied) on a host without them', async () => {
    const r = await cli([
      'create',
      '--network',
      'none',
      '--security-opt',
      'apparmor=docker-default',
      '--security-opt',
      'label=level:s0:c100,c200',
      'busybox',
      'true',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const info = berth.inspect(r.stdout.trim());
    expect(info.config).toMatchObject({ apparmorProfile: 'docker-default', securityLabel: ['level:s0:c100,c200'] });
    expect(info.ociConfig!.process!.apparmorProfile).toBe('docker-default');
    expect((await cli(['start', '-a', r.stdout.trim()])).code).toBe(0);
  });

  it('no-new-privileges=true|false', async () => {
    expect((await run(['--security-opt', 'no-new-privileges=true'], 'grep NoNewPrivs: /proc/self/status')).stdout).toBe('NoNewPrivs:\t1\n');
    expect((await run(['--security-opt', 'no-new-privileges=false'], 'grep NoNewPrivs: /proc/self/status')).stdout).toBe(
      'NoNewPrivs:\t0\n',
    );
  });

  it('systempaths=unconfined: no masked or read-only /proc paths', async () => {
    const probe = "grep -c ' /proc/sys ' /proc/self/mountinfo; grep -c ' /proc/timer_list ' /proc/self/mountinfo";
    expect((await run([], probe)).stdout).toBe('1\n1\n');
    expect((await run(['--security-opt', 'systempaths=unconfined'], probe)).stdout).toBe('0\n0\n');
  });
});

describe('--privileged', () => {
  it.runIf(hasLoop)('every capability, every host device usable, no seccomp, no masked paths, writable /sys', async () => {
    const r = await run(
      ['--privileged'],
      `grep -E '^(CapEff|CapBnd|Seccomp):' /proc/self/status; stat -c '%t:%T' ${LOOP}; head -c1 ${LOOP} >/dev/null && echo loop-ok; ` +
        "grep -c ' /proc/timer_list ' /proc/self/mountinfo; grep ' /sys ' /proc/self/mountinfo | cut -d' ' -f6 | cut -d, -f1",
    );
    expect(r.stderr).toBe('');
    const [eff, bnd, seccomp, loop, loopOk, masked, sys] = r.stdout.trim().split('\n');
    expect(eff.split('\t')[1]).toBe(bnd.split('\t')[1]);
    expect(capEff(eff) & capMask(['CAP_SYS_ADMIN', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO'])).toBe(
      capMask(['CAP_SYS_ADMIN', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO']),
    );
    expect([seccomp, loop, loopOk, masked, sys]).toEqual(['Seccomp:\t0', '7:0', 'loop-ok', '0', 'rw']);
  });
});

describe('--cap-add / --cap-drop', () => {
  it('CapEff: names with or without CAP_, in any case, and ALL', async () => {
    const eff = async (flags: string[]) => capEff((await run(flags, 'grep CapEff: /proc/self/status')).stdout);
    const defaults = capMask(DEFAULT_CAPS);
    expect(await eff([])).toBe(defaults);
    expect(await eff(['--cap-drop', 'ALL', '--cap-add', 'net_admin'])).toBe(capMask(['CAP_NET_ADMIN']));
    expect(await eff(['--cap-add', 'CAP_SYS_ADMIN', '--cap-drop', 'chown'])).toBe(
      (defaults | capMask(['CAP_SYS_ADMIN'])) & ~capMask(['CAP_CHOWN']),
    );
    expect(await eff(['--cap-drop', 'all'])).toBe(0n);
  });
});

describe('bad input', () => {
  it('is one line, exit 125, and leaves nothing behind', async () => {
    const before = fs.readdirSync(roots.root, { recursive: true, encoding: 'utf8' }).sort();
    const notJson = path.join(roots.base, 'not-json.json');
    fs.writeFileSync(notJson, '{"defaultAction": ');
    const badAction = path.join(roots.base, 'bad-action.json');
    fs.writeFileSync(
      badAction,
      JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOPE' }] }),
    );
    const cases: Array<[string[], string | RegExp]> = [
      [
        ['--device', '/nonexistent'],
        'Error gathering device information while adding custom device "/nonexistent": no such file or directory; give a device of this host, like /dev/fuse',
      ],
      [['--device', '/etc/passwd'], /--device "\/etc\/passwd" is not a device/],
      [['--device', '/dev/null:/dev/n:rwx'], /Expected a device like \/dev\/fuse.* for --device but received "\/dev\/null:\/dev\/n:rwx"/],
      [['--device', 'dev/null'], /the host path must be absolute/],
      [['--device-cgroup-rule', 'c 1:3'], /Expected a rule like "c 1:3 rwm".* for --device-cgroup-rule but received "c 1:3"/],
      [['--device-cgroup-rule', 'x 1:3 rwm'], /for --device-cgroup-rule but received "x 1:3 rwm"/],
      [['--cap-add', 'NOPE'], 'Unknown capability "NOPE" for --cap-add; expected a name like NET_ADMIN or ALL (see capabilities(7))'],
      [['--cap-drop', 'CAP_NOPE'], /Unknown capability "CAP_NOPE" for --cap-drop/],
      [
        ['--security-opt', 'seccomp=/nonexistent.json'],
        /Cannot read the seccomp profile "\/nonexistent.json" of --security-opt seccomp: no such file/,
      ],
      [['--security-opt', `seccomp=${notJson}`], /The seccomp profile ".*not-json.json" is not JSON/],
      [['--security-opt', `seccomp=${badAction}`], /The seccomp profile ".*bad-action.json": .*SCMP_ACT_NOPE/],
      [
        ['--security-opt', 'bogus=1'],
        /^Unknown --security-opt "bogus=1"; supported: seccomp=unconfined, .*systempaths=unconfined, apparmor=PROFILE, label=/,
      ],
      [
        ['--security-opt', 'no-new-privileges=yes'],
        /Unknown --security-opt "no-new-privileges=yes" \(no-new-privileges takes true or false\)/,
      ],
      [['--security-opt', 'label=bogus'], /Unknown --security-opt "label=bogus"/],
      [['--security-opt', 'systempaths=confined'], /Unknown --security-opt "systempaths=confined"/],
    ];
    for (const [flags, message] of cases) {
      for (const cmd of ['run', 'create']) {
        const r = await cli([cmd, ...flags, 'busybox', 'true']);
        const what = `${cmd} ${flags.join(' ')}`;
        expect(r.code, what).toBe(125);
        expect(r.stderr.split('\n').length, `${what}: ${r.stderr}`).toBe(2);
        expect(r.stderr.replace(/^berth: /, '').trim(), what).toMatch(
          typeof message === 'string' ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : message,
        );
      }
    }
    expect((await cli(['ps', '-a', '-q'])).stdout).toBe('');
    expect(fs.readdirSync(roots.root, { recursive: true, encoding: 'utf8' }).sort()).toEqual(before);
  });
});

describe("berth-oci: an OCI config's linux.devices and linux.resources.devices", () => {
  let sandbox: OciSandbox;
  beforeAll(() => {
    sandbox = new OciSandbox('berth-oci-dev-');
  });
  afterAll(() => sandbox.remove());

  it.runIf(hasLoop)("a node allowed by its own rule (as podman's --device sends it) is usable as the rule says; others refused", () => {
    const b = sandbox.bundle('dev', (c) => {
      c.process.args = [
        'sh',
        '-c',
        'exec 3</dev/xloop && echo read-ok; (exec 5</dev/yloop) && echo y-ok; exec 4>/dev/xloop && echo write-ok',
      ];
      c.linux.devices = [
        { type: 'b', path: '/dev/xloop', major: 7, minor: 0, fileMode: 0o600 },
        { type: 'b', path: '/dev/yloop', major: 7, minor: 1, fileMode: 0o600 },
      ];
      c.linux.resources = {
        devices: [
          { allow: false, access: 'rwm' },
          { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
          { allow: true, type: 'b', major: 7, minor: 0, access: 'r' },
        ],
      };
    });
    try {
      const r = sandbox.oci(['run', '--bundle', b, 'dev']);
      expect(r.stdout).toBe('read-ok\n');
      expect(r.stderr).toMatch(/can't (create|open) '?\/dev\/xloop'?: Operation not permitted/);
      expect(r.stderr).toMatch(/can't open '?\/dev\/yloop'?: Operation not permitted/);
    } finally {
      sandbox.deleteAll();
    }
  });
});
