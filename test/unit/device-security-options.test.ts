// Parsing of docker's --device, --device-cgroup-rule and --security-opt (the integration tests in
// test/integration/run-devices-security.test.ts run them in containers).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { specLimits } from '../../src/oci/resources';
import { CgroupV1 } from '../../src/runtime/cgroups/v1';
import { asFlagError } from '../../src/runtime/resource-options';
import { CgroupV2 } from '../../src/runtime/cgroups/v2';
import {
  deviceCgroup,
  ociDevices,
  ociExtraDeviceRules,
  parseDevice,
  parseDeviceCgroupRule,
  resolveDevice,
  resolveDevices,
} from '../../src/runtime/device-options';
import { containerSeccompFilter, parseSecurityOpts, securityConfig } from '../../src/runtime/security-options';
import { caught } from '../helpers/caught';

// the cache's lazy require of the compiler finds only built JavaScript: here, the compiler itself
vi.mock('../../src/oci/seccomp-cache', async () => {
  const { compileSeccompFilter } = await import('../../src/oci/seccomp/compile');
  return { compileSeccomp: (section: unknown) => compileSeccompFilter(section as Parameters<typeof compileSeccompFilter>[0]).filter };
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-devsec-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('parseDevice (HOST[:CONTAINER][:PERMS])', () => {
  it("reads docker's forms: the container path defaults to the host's, PERMS to rwm", () => {
    expect(parseDevice('/dev/fuse')).toEqual({ hostPath: '/dev/fuse', containerPath: '/dev/fuse', permissions: 'rwm' });
    expect(parseDevice('/dev/fuse:r')).toEqual({ hostPath: '/dev/fuse', containerPath: '/dev/fuse', permissions: 'r' });
    expect(parseDevice('/dev/null:/dev/mynull')).toEqual({ hostPath: '/dev/null', containerPath: '/dev/mynull', permissions: 'rwm' });
    expect(parseDevice('/dev/null:/dev/x/../mynull:mw')).toEqual({
      hostPath: '/dev/null',
      containerPath: '/dev/mynull',
      permissions: 'wm',
    });
  });

  it('refuses bad forms in one line naming the flag', () => {
    for (const bad of ['', 'dev/null', '/dev/null:rel', '/dev/null:/dev/n:rwx', '/dev/null:/dev/n:rr', '/a:/b:r:x', '/dev/null:/']) {
      const e = caught(() => parseDevice(bad));
      expect(e.code, bad).toBe('INVALID_ARGUMENT');
      expect(e.message, bad).toMatch(/for --device but received/);
      expect(e.message).not.toContain('\n');
    }
  });
});

describe('resolveDevice', () => {
  it('takes the host node’s type, numbers and mode; follows a symlink', () => {
    const link = path.join(tmp, 'null-link');
    fs.symlinkSync('/dev/null', link);
    expect(resolveDevice(parseDevice(`${link}:/dev/n:rw`))).toEqual([
      { hostPath: link, path: '/dev/n', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0, permissions: 'rw' },
    ]);
  });

  it('a missing path, or a file that is no device, is a one-line error', () => {
    expect(caught(() => resolveDevice(parseDevice('/nonexistent'))).message).toBe(
      'Error gathering device information while adding custom device "/nonexistent": no such file or directory; give a device of this host, like /dev/fuse',
    );
    expect(caught(() => resolveDevice(parseDevice('/etc/hostname'))).message).toMatch(/^--device "\/etc\/hostname" is not a device/);
    expect(caught(() => resolveDevice(parseDevice(tmp))).message).toMatch(/is not a device \(nor a directory of devices\)/);
  });

  it('a directory adds every device below it, at the same place below the container path', () => {
    const dir = path.join(tmp, 'devdir');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    fs.symlinkSync('/dev/null', path.join(dir, 'sub', 'ignored-link'));
    const found = resolveDevices(['/dev/net:/dev/mynet']);
    if (fs.existsSync('/dev/net/tun'))
      expect(found).toEqual([expect.objectContaining({ path: '/dev/mynet/tun', type: 'c', major: 10, minor: 200 })]);
    expect(caught(() => resolveDevices(['/dev/null:/dev/a', '/dev/zero:/dev/a'])).message).toBe(
      'Duplicate --device target "/dev/a"; give each path once',
    );
  });
});

describe('parseDeviceCgroupRule', () => {
  it("takes the devices controller's syntax, wildcards and a", () => {
    expect(parseDeviceCgroupRule('c 1:3 rwm')).toBe('c 1:3 rwm');
    expect(parseDeviceCgroupRule('b  7:*   mr')).toBe('b 7:* rm');
    expect(parseDeviceCgroupRule('c *:* m')).toBe('c *:* m');
    expect(parseDeviceCgroupRule('a')).toBe('a *:* rwm');
    expect(parseDeviceCgroupRule('a *:* rwm')).toBe('a *:* rwm');
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'c 1:3', 'x 1:3 rwm', 'c 1 rwm', 'c 1:3 rwx', 'c -1:3 r', 'c 1:3 rr'])
      expect(caught(() => parseDeviceCgroupRule(bad)).message, bad).toMatch(
        /^Expected a rule like "c 1:3 rwm".* for --device-cgroup-rule but received/,
      );
  });
});

describe('the device cgroup', () => {
  const mounts = ['devices', 'memory', 'pids', 'cpuacct'].map((c) => ({
    mountPoint: `/sys/fs/cgroup/${c}`,
    fstype: 'cgroup',
    superOptions: [c],
  })) as unknown as ConstructorParameters<typeof CgroupV1>[0];
  const devices = resolveDevices(['/dev/null:/dev/mynull:r']);
  const config = { devices, deviceCgroupRules: ['b 7:* rwm'] };

  it("v1: docker's defaults, then each --device's rule, then the --device-cgroup-rules", () => {
    const plan = new CgroupV1(mounts).plan('c1', {}, deviceCgroup(config));
    const writes = plan.writes
      .filter(([f]) => f.startsWith('/sys/fs/cgroup/devices/berth/c1/'))
      .map(([f, v]) => `${path.basename(f)} ${v}`);
    expect(writes[0]).toBe('devices.deny a');
    expect(writes.slice(1, 3)).toEqual(['devices.allow c *:* m', 'devices.allow b *:* m']);
    expect(writes.slice(-2)).toEqual(['devices.allow c 1:3 r', 'devices.allow b 7:* rwm']);
    // privileged: everything, the rules are moot
    const priv = new CgroupV1(mounts).plan('c1', {}, deviceCgroup({ ...config, privileged: true }));
    expect(priv.writes.filter(([f]) => f.includes('/devices/'))).toEqual([['/sys/fs/cgroup/devices/berth/c1/devices.allow', 'a']]);
  });

  it('v2: an allow rule holds as it is; a rule giving less than rwm cannot be enforced and is refused', () => {
    const v2 = new CgroupV2(tmp);
    expect(() => v2.plan('c1', {}, deviceCgroup({ deviceCgroupRules: ['b 7:* rwm'] }))).not.toThrow();
    expect(caught(() => v2.plan('c1', {}, deviceCgroup(config))).message).toMatch(
      /^config.json linux.resources.devices: the device rule "c 1:3 r" allows less than rwm, and cgroup v2 device control needs an eBPF program/,
    );
    // what `berth create` says (it plans the cgroup before recording anything)
    expect((asFlagError(caught(() => v2.plan('c1', {}, deviceCgroup(config)))) as Error).message).toMatch(
      /^--device \/ --device-cgroup-rule: the device rule "c 1:3 r" allows less than rwm/,
    );
  });

  it('the OCI config: the nodes, and the rules written out only when the container has its own', () => {
    const oci = ociDevices(config);
    expect(oci.devices).toEqual([{ type: 'c', path: '/dev/mynull', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }]);
    expect(oci.rules![0]).toEqual({ allow: false, access: 'rwm' });
    expect(oci.rules!.slice(-2)).toEqual([
      { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
      { allow: true, type: 'b', major: 7, minor: null, access: 'rwm' },
    ]);
    expect(ociDevices({})).toEqual({});
  });
});

describe("berth-oci: an OCI config's linux.resources.devices", () => {
  it("applies the allow rules beyond docker's default list (podman's --device), in order", () => {
    const docker = [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c' as const, major: null, minor: null, access: 'm' },
      { allow: true, type: 'c' as const, major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'c' as const, major: 136, minor: -1, access: 'rwm' },
    ];
    expect(specLimits({ devices: docker }).deviceRules).toEqual([]);
    expect(
      specLimits({
        devices: [
          ...docker,
          { allow: true, type: 'b', major: 7, minor: 0, access: 'wr' },
          { allow: true, type: 'c', major: 10, access: '' },
        ],
      }).deviceRules,
    ).toEqual(['b 7:0 rw', 'c 10:* rwm']);
    expect(specLimits({ devices: [{ allow: true, access: 'rwm' }] })).toMatchObject({ allDevices: true, deviceRules: [] });
    expect(specLimits(undefined).deviceRules).toEqual([]);
  });

  it('refuses what it cannot apply, naming the field', () => {
    expect(
      caught(() =>
        ociExtraDeviceRules([
          { allow: false, access: 'rwm' },
          { allow: false, type: 'c', major: 1, minor: 3 },
        ]),
      ).message,
    ).toBe('config.json linux.resources.devices[1]: a deny rule other than the first deny-all is not supported by berth-oci; leave it out');
    expect(caught(() => ociExtraDeviceRules([{ allow: true, type: 'x' as 'a' }])).message).toMatch(
      /devices\[0\]\.type: expected a, b or c/,
    );
    expect(caught(() => ociExtraDeviceRules([{ allow: true, type: 'c', major: 1.5 }])).message).toMatch(
      /devices\[0\]\.major: expected a device number/,
    );
    expect(caught(() => ociExtraDeviceRules([{ allow: true, type: 'c', access: 'rx' }])).message).toMatch(
      /devices\[0\]\.access: expected letters of rwm/,
    );
  });
});

describe('parseSecurityOpts', () => {
  const none = { apparmor: false, selinux: false };
  const file = (name: string, content: unknown) => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  };

  it('seccomp=FILE reads a docker profile; a later seccomp= replaces it', () => {
    const p = file('ok.json', { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
    const s = parseSecurityOpts([`seccomp=${p}`], none);
    expect(s.seccompProfile).toEqual({
      file: p,
      profile: { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] },
    });
    expect(parseSecurityOpts([`seccomp=${p}`, 'seccomp=unconfined'], none)).toEqual({ seccomp: false, noNewPrivileges: false });
  });

  it("renders the profile for the container's capabilities and this host, and compiles it", () => {
    const p = file('caps.json', {
      defaultAction: 'SCMP_ACT_ALLOW',
      archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }, { architecture: 'SCMP_ARCH_AARCH64' }],
      syscalls: [
        { name: 'mkdir', action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        { names: ['ptrace'], action: 'SCMP_ACT_ERRNO', excludes: { caps: ['CAP_SYS_PTRACE'] } },
      ],
    });
    const config = securityConfig(parseSecurityOpts([`seccomp=${p}`], none), ['CAP_SYS_PTRACE']);
    expect(config.seccompProfile).toEqual({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    });
    const filter = containerSeccompFilter(config)!;
    expect(filter.length % 8).toBe(0);
    expect(containerSeccompFilter({ ...config, privileged: true })).toBeUndefined();
    expect(containerSeccompFilter({})).toBeUndefined();
  });

  it('bad profiles are one-line errors naming the file', () => {
    const cases: Array<[string, string | object, RegExp]> = [
      ['trunc.json', '{"defaultAction":', /^The seccomp profile ".*trunc.json" is not JSON/],
      ['array.json', [], /has no defaultAction; expected docker's profile format/],
      ['sys.json', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: {} }, /expected syscalls to be an array/],
    ];
    for (const [name, content, message] of cases)
      expect(caught(() => parseSecurityOpts([`seccomp=${file(name, content)}`], none)).message).toMatch(message);
    const bad = parseSecurityOpts([`seccomp=${file('act.json', { defaultAction: 'SCMP_ACT_NOPE' })}`], none);
    const e = caught(() => securityConfig(bad, []));
    expect(e.message).toMatch(/^The seccomp profile ".*act.json": .*defaultAction.*SCMP_ACT_NOPE/);
    expect(e.message).not.toContain('\n');
    expect(caught(() => parseSecurityOpts([`seccomp=${tmp}`], none)).message).toMatch(/^Cannot read the seccomp profile .*: a directory;/);
  });

  it('no-new-privileges[=true|false], systempaths=unconfined, KEY:VALUE spellings', () => {
    expect(parseSecurityOpts(['no-new-privileges:true', 'systempaths=unconfined'], none)).toEqual({
      seccomp: true,
      noNewPrivileges: true,
      systemPathsUnconfined: true,
    });
    expect(securityConfig(parseSecurityOpts(['systempaths=unconfined', 'no-new-privileges=false'], none), [])).toEqual({
      systemPathsUnconfined: true,
    });
  });

  it('apparmor= and label= are kept where the host has neither LSM, refused where it enforces one', () => {
    const s = parseSecurityOpts(['apparmor=docker-default', 'label=user:system_u', 'label:level:s0:c1,c2', 'label=disable'], none);
    expect([s.apparmor, s.label]).toEqual(['docker-default', ['user:system_u', 'level:s0:c1,c2', 'disable']]);
    expect(securityConfig(s, [])).toEqual({
      apparmorProfile: 'docker-default',
      securityLabel: ['user:system_u', 'level:s0:c1,c2', 'disable'],
    });
    expect(caught(() => parseSecurityOpts(['apparmor=docker-default'], { apparmor: true, selinux: false })).message).toBe(
      '--security-opt "apparmor=docker-default": berth cannot apply AppArmor profiles and this host enforces AppArmor; leave it out or use apparmor=unconfined',
    );
    expect(parseSecurityOpts(['apparmor=unconfined'], { apparmor: true, selinux: true }).apparmor).toBe('unconfined');
    expect(caught(() => parseSecurityOpts(['label=type:svirt_t'], { apparmor: false, selinux: true })).message).toMatch(
      /berth cannot apply SELinux labels and this host enforces SELinux; leave it out or use label=disable$/,
    );
    expect(parseSecurityOpts(['label=disable'], { apparmor: false, selinux: true }).label).toEqual(['disable']);
  });

  it('anything else: an error listing what is supported', () => {
    expect(caught(() => parseSecurityOpts(['mask=/proc/kcore'], none)).message).toBe(
      'Unknown --security-opt "mask=/proc/kcore"; supported: seccomp=unconfined, seccomp=default, seccomp=PROFILE.json, no-new-privileges[=true|false], systempaths=unconfined, apparmor=PROFILE, label=disable|user:U|role:R|type:T|level:L',
    );
  });
});
