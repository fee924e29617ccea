// The native unit tests (native/tests, built by binding.gyp as build/Release/berth-native-tests),
// one vitest case per C++ case so a failure names it; and the TypeScript half of the plan format's
// golden bytes: the C++ half decodes test/fixtures/native/plan-golden.bin and checks every field.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NativeMountOp, NativeSpawnPlan } from '../../src/native';
import { encodePlan } from '../../src/native/plan-codec';

const ROOT = path.join(__dirname, '..', '..');
const EXE = path.join(ROOT, 'build', 'Release', 'berth-native-tests');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'native');

// JSON has no bytes: seccompFilter is kept there as hex (scripts/plan-golden.mjs reads it the same way)
const goldenPlan = (): NativeSpawnPlan => {
  const plan = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'plan-golden.json'), 'utf8')) as NativeSpawnPlan & { seccompFilter: unknown };
  return { ...plan, seccompFilter: Buffer.from(String(plan.seccompFilter), 'hex') };
};

// Every field of the two interfaces: `satisfies` makes tsc fail when a field is added to either
// and not here, and the test below fails when the golden JSON lacks one of them.
const PLAN_FIELDS = {
  namespaces: true,
  rootfs: true,
  rootfsMount: true,
  mounts: true,
  hostname: true,
  cgroupDirs: true,
  cgroupWrites: true,
  cgroupProcs: true,
  loopbackUp: true,
  execCandidates: true,
  argv: true,
  env: true,
  cwd: true,
  uid: true,
  gid: true,
  groups: true,
  capsDrop: true,
  capsKeep: true,
  noNewPrivileges: true,
  stdio: true,
  tty: true,
  ttySize: true,
  parentDeathSignal: true,
  joinPid: true,
  helperPath: true,
  initPath: true,
  blockSignals: true,
  netnsPath: true,
  seccomp: true,
  execFifoPath: true,
  consoleSocket: true,
  rootfsReadonly: true,
  rootfsPropagation: true,
  noPivot: true,
  umask: true,
  rlimits: true,
  oomScoreAdj: true,
  domainname: true,
  joinNamespaces: true,
  seccompFilter: true,
  capsForAnyUser: true,
  capsInheritable: true,
  capsAmbient: true,
  uidMap: true,
  gidMap: true,
  preserveFds: true,
  createContainerHooks: true,
  hookState: true,
} satisfies Record<keyof NativeSpawnPlan, true>;
const MOUNT_FIELDS = {
  kind: true,
  target: true,
  source: true,
  fstype: true,
  flags: true,
  data: true,
  create: true,
  sourceInRoot: true,
  optional: true,
  mode: true,
  rdev: true,
  intoKernelFs: true,
  propagation: true,
} satisfies Record<keyof NativeMountOp, true>;

describe('plan codec golden bytes (TypeScript side)', () => {
  it('encodePlan writes plan-golden.bin from plan-golden.json byte for byte', () => {
    const want = fs.readFileSync(path.join(FIXTURES, 'plan-golden.bin'));
    const got = encodePlan(goldenPlan());
    let first = 0;
    while (first < Math.min(got.length, want.length) && got[first] === want[first]) first++;
    // The first differing offset says which field moved; regenerate (scripts/plan-golden.mjs) only
    // together with native/core/plan_codec.cc and native/tests/plan_codec_test.cc.
    expect({ length: got.length, firstDifference: first }).toEqual({ length: want.length, firstDifference: want.length });
  });

  it('the golden plan sets every field, every mount kind, with and without intoKernelFs', () => {
    const plan = goldenPlan();
    expect(Object.keys(plan).sort()).toEqual(Object.keys(PLAN_FIELDS).sort());
    const kinds = new Set(plan.mounts.map((m) => m.kind));
    expect([...kinds].sort()).toEqual(['mkdir', 'mknod', 'mount', 'symlink', 'write']);
    const optional = (k: string) => k !== 'intoKernelFs' && k !== 'propagation';
    for (const m of plan.mounts) {
      const keys = Object.keys(m).filter(optional).sort();
      expect(keys).toEqual(Object.keys(MOUNT_FIELDS).filter(optional).sort());
    }
    expect(plan.mounts.some((m) => (m.propagation ?? 0) !== 0)).toBe(true);
    expect(plan.seccompFilter!.length).toBe(16);
    expect(plan.mounts.some((m) => m.intoKernelFs === true)).toBe(true);
    expect(plan.mounts.some((m) => !('intoKernelFs' in m))).toBe(true);
    // Non-ASCII in strings: the length prefix counts UTF-8 bytes, not UTF-16 units.
    expect(plan.env.some((e) => /[\u{1F000}-\u{1FFFF}]/u.test(e))).toBe(true);
  });

  it('optional fields left out encode as their zero values, which the C++ defaults equal', () => {
    const plan = goldenPlan();
    const zeroed = {
      ...plan,
      joinPid: 0,
      helperPath: '',
      initPath: '',
      blockSignals: false,
      netnsPath: '',
      seccomp: false,
      execFifoPath: '',
      consoleSocket: '',
      rootfsReadonly: false,
      rootfsPropagation: 0,
      noPivot: false,
      umask: 0o022,
      rlimits: [],
      domainname: '',
      joinNamespaces: [],
      seccompFilter: Buffer.alloc(0),
      capsForAnyUser: false,
      capsInheritable: [0, 0] as [number, number],
      capsAmbient: [],
      uidMap: '',
      gidMap: '',
      preserveFds: 0,
      mounts: plan.mounts.map((m) => ({ ...m, intoKernelFs: false, propagation: 0 })),
    };
    const { oomScoreAdj: _adj, ...withoutAdj } = zeroed;
    const omitted: NativeSpawnPlan = { ...plan, mounts: plan.mounts.map(({ intoKernelFs: _, propagation: _p, ...m }) => m) };
    const optionalFields = [
      'joinPid',
      'helperPath',
      'initPath',
      'blockSignals',
      'netnsPath',
      'seccomp',
      'execFifoPath',
      'consoleSocket',
      'rootfsReadonly',
      'rootfsPropagation',
      'noPivot',
      'umask',
      'rlimits',
      'oomScoreAdj',
      'domainname',
      'joinNamespaces',
      'seccompFilter',
      'capsForAnyUser',
      'capsInheritable',
      'capsAmbient',
      'uidMap',
      'gidMap',
      'preserveFds',
    ] as const;
    for (const k of optionalFields) delete omitted[k];
    expect(encodePlan(omitted).equals(encodePlan(withoutAdj))).toBe(true);
    expect(encodePlan(omitted).equals(encodePlan(plan))).toBe(false);
  });
});

describe('berth-native-tests (native/tests)', () => {
  const listed = spawnSync(EXE, ['--list'], { encoding: 'utf8' });
  const cases = listed.status === 0 ? listed.stdout.split('\n').filter(Boolean) : [];

  it('is built and lists its cases', () => {
    // Missing means the native build did not run (npm run install): that must fail, not skip.
    expect(listed.error?.message ?? listed.stderr, EXE).toBe('');
    expect(listed.status).toBe(0);
    expect(cases.length).toBeGreaterThan(20);
  });

  it.each(cases)('%s', (name) => {
    const r = spawnSync(EXE, [name], { encoding: 'utf8', timeout: 30_000 });
    const output = `${r.stdout}${r.stderr}${r.signal ? `\nkilled by ${r.signal}` : ''}`;
    expect(r.status, output).toBe(0);
    expect(r.stdout).toContain(`ok ${name}\n`);
  });
});
