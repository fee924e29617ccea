import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContainerStore, reconcile } from '../../src/runtime/store';
import { processStartTime } from '../../src/util/proc';
import type { ContainerConfig, ContainerState } from '../../src/runtime/types';
import { caught } from '../helpers/caught';

type NewConfig = Omit<ContainerConfig, 'name' | 'created'> & { name?: string };

const hex = (c: string) => c.repeat(64).slice(0, 64);

function sample(id: string, name?: string): NewConfig {
  return {
    id,
    name,
    image: 'busybox',
    imageId: `sha256:${'ab'.repeat(32)}`,
    argv: ['true'],
    env: ['PATH=/bin'],
    workdir: '/',
    uid: 0,
    gid: 0,
    groups: [0],
    hostname: id.slice(0, 12),
    tty: false,
    interactive: false,
    autoRemove: false,
    volumes: [],
    limits: {},
    storageDriver: 'overlay',
    layers: ['/layers/a'],
  };
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let root: string;
let store: ContainerStore;
const namesDir = () => path.join(root, 'containers', '.names');

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-store-'));
  store = new ContainerStore(root, path.join(root, 'run'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('ContainerStore.create', () => {
  it('writes config.json in the container directory and claims the name', () => {
    const id = ContainerStore.newId();
    const before = Date.now();
    const info = store.create(sample(id, 'web'));
    expect(info.state).toEqual({ status: 'created' });
    expect(info.config.name).toBe('web');
    expect(info.config.id).toBe(id);
    expect(Date.parse(info.config.created)).toBeGreaterThanOrEqual(before - 1000);
    expect(store.dir).toBe(path.join(root, 'containers'));
    expect(store.containerDir(id)).toBe(path.join(root, 'containers', id));
    const onDisk = JSON.parse(fs.readFileSync(path.join(store.containerDir(id), 'config.json'), 'utf8'));
    expect(onDisk).toEqual(info.config);
    expect(fs.readlinkSync(path.join(namesDir(), 'web'))).toBe(id);
    // no state.json means 'created'
    expect(fs.existsSync(path.join(store.containerDir(id), 'state.json'))).toBe(false);
    expect(store.read(id)?.state).toEqual({ status: 'created' });
    // no temp directory left behind
    expect(fs.readdirSync(store.dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('keeps its directories private', () => {
    store.create(sample(hex('1'), 'priv'));
    expect(fs.statSync(namesDir()).mode & 0o777).toBe(0o700);
    expect(fs.statSync(store.containerDir(hex('1'))).mode & 0o777).toBe(0o700);
  });

  it('generates 64-hex-digit ids, all different', () => {
    const ids = new Set(Array.from({ length: 50 }, () => ContainerStore.newId()));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a name in use with CONTAINER_EXISTS, leaving the owner alone', () => {
    store.create(sample(hex('1'), 'web'));
    const e = caught(() => store.create(sample(hex('2'), 'web')));
    expect(e.code).toBe('CONTAINER_EXISTS');
    expect(e.message).toContain('"web" is already in use');
    expect(e.message).toContain('berth rm web');
    expect(fs.readlinkSync(path.join(namesDir(), 'web'))).toBe(hex('1'));
    expect(fs.existsSync(store.containerDir(hex('2')))).toBe(false);
    expect(store.resolve('web').config.id).toBe(hex('1'));
  });

  it('refuses a name in use by another store instance on the same root (another CLI)', () => {
    store.create(sample(hex('1'), 'web'));
    const other = new ContainerStore(root, path.join(root, 'run'));
    expect(caught(() => other.create(sample(hex('2'), 'web'))).code).toBe('CONTAINER_EXISTS');
  });

  it.each(['', '-web', '.web', '_web', 'a b', 'a/b', 'a:b', 'wéb', '../x', 'a\nb'])('refuses the invalid name %j', (name) => {
    const e = caught(() => store.create(sample(hex('3'), name)));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`Expected a container name of letters, digits, _ . - for --name but received ${JSON.stringify(name)}`);
    expect(fs.existsSync(store.containerDir(hex('3')))).toBe(false);
  });

  it.each(['a', 'Web_1', 'x.y-z', '9lives', 'a'.repeat(100)])('takes the valid name %j', (name) => {
    expect(store.create(sample(hex('4'), name)).config.name).toBe(name);
  });

  it('generates unique adjective_noun_N names when none is given', () => {
    const names = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const info = store.create(sample(ContainerStore.newId()));
      expect(info.config.name).toMatch(/^[a-z]+_[a-z]+_\d{1,4}$/);
      expect(fs.readlinkSync(path.join(namesDir(), info.config.name))).toBe(info.config.id);
      names.add(info.config.name);
    }
    expect(names.size).toBe(40);
  });

  it('takes over a stale name link whose container directory is gone', () => {
    fs.mkdirSync(namesDir(), { recursive: true });
    fs.symlinkSync(hex('d'), path.join(namesDir(), 'ghost'));
    const info = store.create(sample(hex('5'), 'ghost'));
    expect(info.config.name).toBe('ghost');
    expect(fs.readlinkSync(path.join(namesDir(), 'ghost'))).toBe(hex('5'));
    expect(store.resolve('ghost').config.id).toBe(hex('5'));
  });

  it('frees the name again when writing the container fails', () => {
    // a non-empty directory in the way makes the final rename fail
    fs.mkdirSync(path.join(store.containerDir(hex('6')), 'junk'), { recursive: true });
    expect(() => store.create(sample(hex('6'), 'doomed'))).toThrow();
    expect(fs.existsSync(path.join(namesDir(), 'doomed'))).toBe(false);
    expect(store.create(sample(hex('7'), 'doomed')).config.name).toBe('doomed');
  });

  // Regression test (a bug found in src/runtime/store.ts claim): a name link whose container directory does not exist *yet*
  // is taken for stale. Between create()'s symlink and its final rename there is such a window, so
  // a second CLI creating the same name in that window "takes over" the link and both creates
  // succeed with the same name, against the class comment ("two concurrent CLI invocations can
  // never both get one"). The interleaving is reproduced deterministically with a getter that the
  // first create() reads while it builds the config (after its claim, before its rename).
  it('never lets two concurrent creates both get one name', () => {
    const other = new ContainerStore(root, path.join(root, 'run'));
    let second: unknown;
    const first = sample(hex('a'), 'race');
    Object.defineProperty(first, 'hostname', {
      enumerable: true,
      get() {
        if (second === undefined) {
          try {
            second = other.create(sample(hex('b'), 'race'));
          } catch (e) {
            second = e;
          }
        }
        return 'h';
      },
    });
    let firstResult: unknown;
    try {
      firstResult = store.create(first);
    } catch (e) {
      firstResult = e;
    }
    const won = [firstResult, second].filter((r) => !(r instanceof Error));
    expect(won).toHaveLength(1);
  });
});

describe('ContainerStore.resolve / read / list', () => {
  const A = `abc1${'0'.repeat(60)}`;
  const B = `abc2${'0'.repeat(60)}`;
  const C = `f00d${'0'.repeat(60)}`;

  beforeEach(() => {
    store.create(sample(A, 'alpha'));
    store.create(sample(B, 'beta'));
    store.create(sample(C, 'gamma'));
  });

  it('finds a container by name', () => {
    expect(store.resolve('alpha').config.id).toBe(A);
    expect(store.resolve('gamma').config.id).toBe(C);
  });

  it('finds a container by full id', () => {
    expect(store.resolve(B).config.name).toBe('beta');
  });

  it('finds a container by a unique id prefix', () => {
    expect(store.resolve('abc1').config.name).toBe('alpha');
    expect(store.resolve('f').config.name).toBe('gamma');
    expect(store.resolve(A.slice(0, 12)).config.name).toBe('alpha');
  });

  it('refuses an ambiguous prefix', () => {
    const e = caught(() => store.resolve('abc'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe('The ID prefix "abc" matches 2 containers; give more characters');
  });

  it('reports an unknown reference as CONTAINER_NOT_FOUND', () => {
    for (const ref of ['nope', 'abc3', 'e', `${A}0`, '.names', '../x', '']) {
      const e = caught(() => store.resolve(ref));
      expect(e.code).toBe('CONTAINER_NOT_FOUND');
      expect(e.message).toBe(`No such container: ${JSON.stringify(ref)}`);
    }
  });

  it('does not treat a name link to a missing container as found', () => {
    fs.symlinkSync(hex('9'), path.join(namesDir(), 'ghost'));
    expect(caught(() => store.resolve('ghost')).code).toBe('CONTAINER_NOT_FOUND');
  });

  it('lists every container, newest first, skipping hidden entries', () => {
    fs.mkdirSync(path.join(store.dir, `.rm-${hex('e')}`));
    fs.mkdirSync(path.join(store.dir, `.tmp-${hex('e')}`));
    // created timestamps may tie within a millisecond: order by the recorded value
    const list = store.list();
    expect(list.map((i) => i.config.id).sort()).toEqual([A, B, C].sort());
    const created = list.map((i) => i.config.created);
    expect([...created].sort().reverse()).toEqual(created);
  });

  it('lists nothing for a root without containers', () => {
    expect(new ContainerStore(path.join(root, 'empty'), '/nonexistent').list()).toEqual([]);
  });

  it('read returns undefined for an unknown id and the written state otherwise', () => {
    expect(store.read(hex('9'))).toBeUndefined();
    const state: ContainerState = { status: 'exited', exitCode: 3, oomKilled: true, finishedAt: '2026-01-01T00:00:00.000Z' };
    store.writeState(A, state);
    expect(store.read(A)?.state).toEqual(state);
    expect(store.resolve('alpha').state.exitCode).toBe(3);
    expect(fs.readdirSync(store.containerDir(A)).sort()).toEqual(['config.json', 'state.json']);
  });
});

describe('ContainerStore.remove', () => {
  it('deletes the directory and frees the name', () => {
    const id = hex('1');
    store.create(sample(id, 'web'));
    fs.mkdirSync(path.join(store.containerDir(id), 'upper', 'deep', 'er'), { recursive: true });
    fs.writeFileSync(path.join(store.containerDir(id), 'upper', 'deep', 'er', 'file'), 'x');
    store.remove(id);
    expect(fs.existsSync(store.containerDir(id))).toBe(false);
    expect(fs.existsSync(path.join(store.dir, `.rm-${id}`))).toBe(false);
    expect(fs.existsSync(path.join(namesDir(), 'web'))).toBe(false);
    expect(caught(() => store.resolve('web')).code).toBe('CONTAINER_NOT_FOUND');
    expect(caught(() => store.resolve(id)).code).toBe('CONTAINER_NOT_FOUND');
    expect(store.create(sample(hex('2'), 'web')).config.name).toBe('web');
  });

  it('tolerates a container that is already gone', () => {
    expect(() => store.remove(hex('7'))).not.toThrow();
  });

  it('leaves other containers and their names alone', () => {
    store.create(sample(hex('1'), 'one'));
    store.create(sample(hex('2'), 'two'));
    store.remove(hex('1'));
    expect(store.resolve('two').config.id).toBe(hex('2'));
  });

  it('does not free a name that now belongs to another container', () => {
    store.create(sample(hex('1'), 'shared'));
    // the name was taken over by another container (e.g. after a crash)
    fs.rmSync(path.join(namesDir(), 'shared'));
    fs.symlinkSync(hex('2'), path.join(namesDir(), 'shared'));
    store.remove(hex('1'));
    expect(fs.readlinkSync(path.join(namesDir(), 'shared'))).toBe(hex('2'));
  });

  it('frees the name given in opts.name when config.json is unreadable', () => {
    store.create(sample(hex('1'), 'named'));
    fs.rmSync(path.join(store.containerDir(hex('1')), 'config.json'));
    store.remove(hex('1'), { name: 'named' });
    expect(fs.existsSync(path.join(namesDir(), 'named'))).toBe(false);
    expect(fs.existsSync(store.containerDir(hex('1')))).toBe(false);
  });

  it('with background: the container disappears at once, the files soon after', async () => {
    const id = hex('3');
    store.create(sample(id, 'bg'));
    const upper = path.join(store.containerDir(id), 'upper');
    for (let i = 0; i < 200; i++) {
      fs.mkdirSync(path.join(upper, `d${i}`), { recursive: true });
      fs.writeFileSync(path.join(upper, `d${i}`, 'f'), 'x');
    }
    fs.symlinkSync('/etc', path.join(upper, 'link-to-etc'));
    store.remove(id, { background: true });
    expect(fs.existsSync(store.containerDir(id))).toBe(false);
    expect(fs.existsSync(path.join(namesDir(), 'bg'))).toBe(false);
    expect(caught(() => store.resolve('bg')).code).toBe('CONTAINER_NOT_FOUND');
    await until(() => !fs.existsSync(path.join(store.dir, `.rm-${id}`)));
    expect(fs.existsSync('/etc/passwd')).toBe(true); // the symlink was not followed
    expect(store.list()).toEqual([]);
  });

  it('with detached: an rm -rf outside this process deletes the files', async () => {
    const id = hex('4');
    store.create(sample(id, 'det'));
    fs.mkdirSync(path.join(store.containerDir(id), 'upper', 'x'), { recursive: true });
    store.remove(id, { detached: true });
    expect(fs.existsSync(store.containerDir(id))).toBe(false);
    expect(fs.existsSync(path.join(namesDir(), 'det'))).toBe(false);
    await until(() => !fs.existsSync(path.join(store.dir, `.rm-${id}`)));
  });
});

describe('ContainerStore.sweep', () => {
  function leftover(name: string, ageMs: number, now: number): string {
    const p = path.join(store.dir, name);
    fs.mkdirSync(path.join(p, 'upper'), { recursive: true });
    fs.writeFileSync(path.join(p, 'upper', 'f'), 'x');
    const t = new Date(now - ageMs);
    fs.utimesSync(p, t, t);
    return p;
  }

  it('removes .tmp- and .rm- leftovers older than a minute, keeps younger ones', () => {
    store.create(sample(hex('1'), 'live'));
    const now = Date.now();
    const oldTmp = leftover(`.tmp-${hex('a')}`, 61_000, now);
    const oldRm = leftover(`.rm-${hex('b')}`, 3_600_000, now);
    const youngTmp = leftover(`.tmp-${hex('c')}`, 30_000, now);
    const youngRm = leftover(`.rm-${hex('d')}`, 1_000, now);
    store.sweep(now);
    expect(fs.existsSync(oldTmp)).toBe(false);
    expect(fs.existsSync(oldRm)).toBe(false);
    expect(fs.existsSync(youngTmp)).toBe(true);
    expect(fs.existsSync(youngRm)).toBe(true);
    // containers and names are never swept
    expect(store.resolve('live').config.id).toBe(hex('1'));
    expect(fs.existsSync(namesDir())).toBe(true);
  });

  it('uses the given clock: the young ones go once a minute has passed', () => {
    const now = Date.now();
    const young = leftover(`.rm-${hex('d')}`, 1_000, now);
    store.sweep(now + 30_000);
    expect(fs.existsSync(young)).toBe(true);
    store.sweep(now + 61_000);
    expect(fs.existsSync(young)).toBe(false);
  });

  it('leaves old container directories alone, however old', () => {
    store.create(sample(hex('1'), 'old'));
    const t = new Date(Date.now() - 86_400_000);
    fs.utimesSync(store.containerDir(hex('1')), t, t);
    store.sweep(Date.now() + 86_400_000);
    expect(store.resolve('old').config.id).toBe(hex('1'));
  });

  it('does nothing on a root without a containers directory', () => {
    expect(() => new ContainerStore(path.join(root, 'none'), '/x').sweep()).not.toThrow();
  });
});

describe('reconcile', () => {
  const IMPOSSIBLE_PID = 2 ** 22 + 7; // above PID_MAX_LIMIT (4194304): never a live process

  it('marks a running state whose process is gone as exited with code 255 and a reason', () => {
    const before = Date.now();
    const s = reconcile({ status: 'running', pid: IMPOSSIBLE_PID, pidStartTime: 12345, startedAt: '2026-01-01T00:00:00.000Z' });
    expect(s.status).toBe('exited');
    expect(s.exitCode).toBe(255);
    expect(s.error).toMatch(/disappeared/);
    expect(Date.parse(s.finishedAt!)).toBeGreaterThanOrEqual(before - 1000);
    expect(s.pid).toBe(IMPOSSIBLE_PID);
    expect(s.startedAt).toBe('2026-01-01T00:00:00.000Z');
  });

  it('keeps an exit code, finish time and error already recorded', () => {
    const s = reconcile({ status: 'running', pid: IMPOSSIBLE_PID, pidStartTime: 1, exitCode: 0, finishedAt: 'then', error: 'known' });
    expect(s).toMatchObject({ status: 'exited', exitCode: 0, finishedAt: 'then', error: 'known' });
  });

  it('keeps running a live process with its recorded start time', () => {
    const start = processStartTime(process.pid);
    expect(start).toBeGreaterThan(0);
    const state: ContainerState = { status: 'running', pid: process.pid, pidStartTime: start };
    expect(reconcile(state)).toBe(state);
  });

  it('takes a live pid with another start time for a reused pid: exited', () => {
    const start = processStartTime(process.pid)!;
    const s = reconcile({ status: 'running', pid: process.pid, pidStartTime: start + 1 });
    expect(s.status).toBe('exited');
    expect(s.exitCode).toBe(255);
    expect(s.error).toBeDefined();
  });

  it('leaves created and exited states, and a running state without a pid, untouched', () => {
    for (const state of [
      { status: 'created' },
      { status: 'exited', exitCode: 1, pid: IMPOSSIBLE_PID },
      { status: 'running' },
    ] as ContainerState[]) {
      expect(reconcile(state)).toBe(state);
    }
  });

  it('does not modify the state it was given', () => {
    const state: ContainerState = { status: 'running', pid: IMPOSSIBLE_PID, pidStartTime: 1 };
    reconcile(state);
    expect(state).toEqual({ status: 'running', pid: IMPOSSIBLE_PID, pidStartTime: 1 });
  });
});
