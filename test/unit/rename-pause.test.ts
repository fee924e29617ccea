/** The pure parts of rename and pause: where the freezer of a container is, how paused reads in
 *  docker's words, and the names store's rename on a temp root (no container runs). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freezerLocation, withPaused } from '../../src/runtime/container-pause';
import { CgroupV1 } from '../../src/runtime/cgroups/v1';
import { CgroupV2 } from '../../src/runtime/cgroups/v2';
import { parseMountInfo } from '../../src/runtime/cgroups/mountinfo';
import { ContainerStore } from '../../src/runtime/store';
import { statusText } from '../../src/cli/format/status';
import type { ContainerInfo } from '../../src/runtime/types';

const ID = 'a'.repeat(64);
const MOUNTS = [
  '30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory',
  '31 25 0:27 / /sys/fs/cgroup/freezer rw,relatime shared:10 - cgroup cgroup rw,freezer',
  '32 25 0:28 / /sys/fs/cgroup/pids rw,relatime shared:11 - cgroup cgroup rw,pids',
].join('\n');

describe('freezerLocation', () => {
  it("is the v1 freezer hierarchy's parent and the container's ID", () => {
    const v1 = new CgroupV1(parseMountInfo(MOUNTS), 'apps/web');
    expect(freezerLocation(v1, { id: ID })).toEqual({ parent: 'apps/web', name: ID });
  });
  it('is the unified cgroup on v2', () => {
    expect(freezerLocation(new CgroupV2('/sys/fs/cgroup', 'berth'), { id: ID })).toEqual({ parent: 'berth', name: ID });
  });
});

describe('the v1 plan', () => {
  it('joins the freezer with a mkdir and a tasks file, and writes nothing to it', () => {
    const plan = new CgroupV1(parseMountInfo(MOUNTS), 'berth').plan(ID, {});
    expect(plan.dirs).toContain(`/sys/fs/cgroup/freezer/berth/${ID}`);
    expect(plan.procs).toContain(`/sys/fs/cgroup/freezer/berth/${ID}/tasks`);
    expect(plan.writes.filter(([f]) => f.includes('/freezer/'))).toEqual([]);
  });
});

const info = (state: ContainerInfo['state']): ContainerInfo =>
  ({ config: { id: ID, name: 'x', created: new Date(0).toISOString(), argv: [] }, state }) as unknown as ContainerInfo;

describe('paused', () => {
  it('reads "Up ... (Paused)" in the status column', () => {
    const startedAt = new Date(Date.now() - 5000).toISOString();
    expect(statusText(info({ status: 'running', startedAt, paused: true }))).toMatch(/^Up 5 seconds \(Paused\)$/);
  });
  it('drops a stored paused flag of a container that is not running (the freezer is the truth)', () => {
    const v2 = new CgroupV2('/nonexistent', 'berth');
    expect(withPaused(v2, info({ status: 'exited', paused: true })).state.paused).toBeUndefined();
  });
});

describe('ContainerStore.rename', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const store = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rename-'));
    dirs.push(d);
    return new ContainerStore(d, d);
  };
  const create = (s: ContainerStore, name: string) =>
    s.create({ id: ContainerStore.newId(), name } as unknown as Parameters<ContainerStore['create']>[0]);

  it('moves the name: the new resolves, the old is free', () => {
    const s = store();
    const c = create(s, 'one');
    expect(s.rename(c.config.id, 'two').name).toBe('two');
    expect(s.resolve('two').config.id).toBe(c.config.id);
    expect(() => s.resolve('one')).toThrow(/No such container/);
    expect(create(s, 'one').config.name).toBe('one');
  });
  it('refuses a taken name and leaves both containers as they were', () => {
    const s = store();
    const a = create(s, 'a');
    const b = create(s, 'b');
    expect(() => s.rename(a.config.id, 'b')).toThrow(new RegExp(`already in use by container "${b.config.id}"`));
    expect(s.resolve('a').config.id).toBe(a.config.id);
    expect(s.resolve('b').config.id).toBe(b.config.id);
  });
  it('takes over a link its container does not name (a crashed rename)', () => {
    const s = store();
    const a = create(s, 'a');
    fs.symlinkSync(a.config.id, path.join(s.dir, '.names', 'orphan'));
    expect(() => s.resolve('orphan')).toThrow(/No such container/);
    const b = create(s, 'orphan');
    expect(s.resolve('orphan').config.id).toBe(b.config.id);
  });
});
