import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { readJson, readJsonIfExists, writeJsonAtomic } from '../util/fs';
import { withLockSync } from '../util/lock';
import { processStartTime } from './proc';
import type { ContainerConfig, ContainerInfo, ContainerState } from './types';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const ADJECTIVES = ['brave', 'calm', 'eager', 'fond', 'keen', 'lucid', 'merry', 'nimble', 'quiet', 'sharp', 'steady', 'vivid'];
const NOUNS = ['anchor', 'buoy', 'cove', 'dock', 'harbor', 'jetty', 'keel', 'mast', 'pier', 'quay', 'rudder', 'wharf'];

/**
 * Containers on disk: <root>/containers/<id>/{config.json,state.json,upper,work,merged,...}.
 * Creation and removal take a lock in the run root so that names stay unique across concurrent
 * CLI invocations.
 */
export class ContainerStore {
  readonly dir: string;
  private readonly lockFile: string;

  constructor(root: string, runRoot: string) {
    this.dir = path.join(root, 'containers');
    this.lockFile = path.join(runRoot, 'containers.lock');
  }

  containerDir(id: string): string {
    return path.join(this.dir, id);
  }

  /** Reserves an ID and a unique name and writes the config; the state starts as 'created'. */
  create(config: Omit<ContainerConfig, 'id' | 'name' | 'created'> & { name?: string }): ContainerInfo {
    if (config.name !== undefined && !NAME_RE.test(config.name)) {
      throw new BerthError('INVALID_ARGUMENT', `Expected a container name of letters, digits, _ . - for --name but received "${config.name}"`);
    }
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.dirname(this.lockFile), { recursive: true, mode: 0o700 });
    return withLockSync(this.lockFile, () => {
      const taken = new Set(this.list().map((c) => c.config.name));
      if (config.name !== undefined && taken.has(config.name)) {
        throw new BerthError('CONTAINER_EXISTS', `The container name "${config.name}" is already in use; remove that container (berth rm ${config.name}) or choose another --name`);
      }
      const id = crypto.randomBytes(32).toString('hex');
      const name = config.name ?? generateName(taken);
      const full: ContainerConfig = { ...config, id, name, created: new Date().toISOString() };
      const dir = this.containerDir(id);
      // Built in a temp dir and renamed, so a half-created container is never listed.
      const tmp = path.join(this.dir, `.tmp-${id}`);
      fs.mkdirSync(tmp, { mode: 0o700 });
      writeJsonAtomic(path.join(tmp, 'config.json'), full);
      writeJsonAtomic(path.join(tmp, 'state.json'), { status: 'created' } satisfies ContainerState);
      fs.renameSync(tmp, dir);
      return { config: full, state: { status: 'created' } };
    });
  }

  /** Every container as recorded on disk (see reconcile for what is still true). */
  list(): ContainerInfo[] {
    let ids: string[];
    try {
      ids = fs.readdirSync(this.dir).filter((d) => !d.startsWith('.'));
    } catch {
      return [];
    }
    const out: ContainerInfo[] = [];
    for (const id of ids) {
      const info = this.read(id);
      if (info) out.push(info);
    }
    return out.sort((a, b) => b.config.created.localeCompare(a.config.created));
  }

  /** Reads one container; undefined if it vanished (a concurrent rm). */
  read(id: string): ContainerInfo | undefined {
    const dir = this.containerDir(id);
    const config = readJsonIfExists<ContainerConfig>(path.join(dir, 'config.json'));
    if (!config) return undefined;
    const state = readJsonIfExists<ContainerState>(path.join(dir, 'state.json')) ?? { status: 'created' };
    return { config, state };
  }

  /** By full ID, unique ID prefix, or name. */
  resolve(ref: string): ContainerInfo {
    const all = this.list();
    const byName = all.find((c) => c.config.name === ref);
    if (byName) return byName;
    const byId = /^[0-9a-f]+$/.test(ref) ? all.filter((c) => c.config.id.startsWith(ref)) : [];
    if (byId.length === 1) return byId[0];
    if (byId.length > 1) throw new BerthError('INVALID_ARGUMENT', `The ID prefix "${ref}" matches ${byId.length} containers; give more characters`);
    throw new BerthError('CONTAINER_NOT_FOUND', `No such container: ${ref}`);
  }

  writeState(id: string, state: ContainerState): void {
    writeJsonAtomic(path.join(this.containerDir(id), 'state.json'), state);
  }

  /** Deletes the container's directory (write layer included). */
  remove(id: string): void {
    withLockSync(this.lockFile, () => {
      const dir = this.containerDir(id);
      const doomed = path.join(this.dir, `.rm-${id}`);
      // Rename first: a crash mid-delete leaves a hidden directory, never a half-removed container.
      try {
        fs.renameSync(dir, doomed);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      fs.rmSync(doomed, { recursive: true, force: true });
    });
  }

  /** Removes leftovers of creations and removals that crashed half-way. */
  sweep(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return;
    }
    for (const n of names) if (n.startsWith('.tmp-') || n.startsWith('.rm-')) fs.rmSync(path.join(this.dir, n), { recursive: true, force: true });
  }

  readConfig(id: string): ContainerConfig {
    return readJson<ContainerConfig>(path.join(this.containerDir(id), 'config.json'));
  }
}

/** A state that says running but whose process is gone (berth was killed) is the truth no longer. */
export function reconcile(state: ContainerState): ContainerState {
  if (state.status !== 'running' || state.pid === undefined) return state;
  const start = processStartTime(state.pid);
  if (start !== undefined && start === state.pidStartTime) return state;
  return {
    ...state,
    status: 'exited',
    exitCode: state.exitCode ?? 255,
    finishedAt: state.finishedAt ?? new Date().toISOString(),
    error: state.error ?? 'the container process disappeared while berth was not watching it (berth was killed?)',
  };
}

function generateName(taken: Set<string>): string {
  for (;;) {
    const a = ADJECTIVES[crypto.randomInt(ADJECTIVES.length)];
    const n = NOUNS[crypto.randomInt(NOUNS.length)];
    const name = `${a}_${n}_${crypto.randomInt(1000)}`;
    if (!taken.has(name)) return name;
  }
}
