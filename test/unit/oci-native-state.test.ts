// The plain data berth-oci's native front answers from (src/oci/native-state.ts): the state
// template must put back together exactly what `berth-oci state` prints, for any annotations.
import { describe, expect, it } from 'vitest';
import { encodeNativeState, listTemplate, stateTemplate, type NativeState } from '../../src/oci/native-state';
import type { ListEntry } from '../../src/oci/list-entry';
import type { State } from '../../src/oci/spec';

const state = (annotations: Record<string, string>): State => ({
  ociVersion: '1.1.0',
  id: 'c1',
  status: 'running',
  pid: 4321,
  bundle: '/tmp/b "x"\n',
  annotations,
});

/** The pairs of an encoded file, as the front reads them. */
function decode(b: Buffer): Array<[string, string]> {
  const parts = b.toString().split('\0');
  expect(parts.pop()).toBe('');
  return parts.flatMap((v, i) => (i % 2 === 0 ? [[v, parts[i + 1]] as [string, string]] : []));
}

describe('stateTemplate', () => {
  const cases: Array<Record<string, string>> = [{}, { a: 'b' }, { 'x/"q"': 'line\nbreak \\ π ✓ \u0001 \u2028', '': '' }];
  for (const annotations of cases) {
    it(`head STATUS mid PID tail is JSON.stringify(state, null, 2) for ${JSON.stringify(annotations)}`, () => {
      const { head, mid, tail } = stateTemplate(state(annotations));
      for (const [status, pid] of [
        ['running', 4321],
        ['stopped', 0],
        ['paused', 99],
      ] as const) {
        expect(`${head}${status}${mid}${pid}${tail}`).toBe(JSON.stringify({ ...state(annotations), status, pid }, null, 2) + '\n');
      }
    });
  }
});

describe('listTemplate', () => {
  const entry: ListEntry = {
    ociVersion: '1.1.0',
    id: 'c1',
    pid: 4321,
    status: 'running',
    bundle: '/b "q"',
    rootfs: '',
    created: '2026-12-02T01:02:03.456Z',
    owner: 'root',
    annotations: { 'a/"b"': 'π\n' },
  };
  it('head PID mid STATUS tail is JSON.stringify(entry), pid before status', () => {
    const { head, mid, tail } = listTemplate(entry);
    for (const [pid, status] of [
      [0, 'stopped'],
      [77, 'paused'],
    ] as const)
      expect(`${head}${pid}${mid}${status}${tail}`).toBe(JSON.stringify({ ...entry, pid, status }));
  });
});

describe('encodeNativeState', () => {
  const base: NativeState = {
    pid: 4321,
    startTime: 777,
    state: state({}),
    fifo: '/run/x/c1/exec.fifo',
    freezer: { version: 1, dir: '/sys/fs/cgroup/freezer/berth-oci/c1' },
    cgroupDirs: ['/sys/fs/cgroup/memory/berth-oci/c1', '/sys/fs/cgroup/pids/berth-oci/c1'],
    emptyParents: ['/sys/fs/cgroup/memory/berth-oci'],
    hooks: ['poststop'],
    listEntry: { ociVersion: '1.1.0', id: 'c1', pid: 4321, status: 'running', bundle: '/tmp/b', rootfs: '', created: 'T', owner: 'root' },
  };

  it('writes key NUL value NUL pairs, lists as repeated keys', () => {
    const pairs = decode(encodeNativeState(base));
    expect(pairs.filter(([k]) => !['head', 'mid', 'tail', 'list-head', 'list-mid', 'list-tail'].includes(k))).toEqual([
      ['pid', '4321'],
      ['start-time', '777'],
      ['fifo', '/run/x/c1/exec.fifo'],
      ['freezer-v1', '/sys/fs/cgroup/freezer/berth-oci/c1'],
      ['cgroup', '/sys/fs/cgroup/memory/berth-oci/c1'],
      ['cgroup', '/sys/fs/cgroup/pids/berth-oci/c1'],
      ['empty-parent', '/sys/fs/cgroup/memory/berth-oci'],
      ['hook', 'poststop'],
      ['list-bundle', '/tmp/b'],
      ['list-created', 'T'],
      ['list-owner', 'root'],
    ]);
    expect(pairs.find(([k]) => k === 'mid')?.[1]).toBe('",\n  "pid": ');
  });

  it('refuses a value holding NUL, which the format cannot carry', () => {
    expect(() => encodeNativeState({ ...base, cgroupDirs: ['/a\0b'] })).toThrow(/cgroup holds a NUL byte/);
  });
});
