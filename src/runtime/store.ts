import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { native } from '../native';
import { readJsonIfExists, writeJsonAtomic } from '../util/fs';
import { randomHexId } from '../util/random';
import { processExecutable, processStartTime } from '../util/proc';
import { quote } from '../util/quote';
import type { ContainerConfig, ContainerInfo, ContainerState } from './types';
import { isRunning } from './container-predicates';
import { withLockSync } from '../util/lock';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const ADJECTIVES = ['brave', 'calm', 'eager', 'fond', 'keen', 'lucid', 'merry', 'nimble', 'quiet', 'sharp', 'steady', 'vivid'];
const NOUNS = ['anchor', 'buoy', 'cove', 'dock', 'harbor', 'jetty', 'keel', 'mast', 'pier', 'quay', 'rudder', 'wharf'];

/**
 * Containers on disk: <root>/containers/<id>/{config.json,state.json,upper,work,merged,...}.
 * Names are claimed as symlinks <root>/containers/.names/<name> -> <id>: symlink(2) fails when the
 * name exists, so two concurrent CLI invocations can never both get one, with no global lock and no
 * listing of every container on the start path.
 */
export class ContainerStore {
  readonly dir: string;
  private readonly namesDir: string;
  private prepared = false;

  constructor(root: string, _runRoot: string) {
    this.dir = path.join(root, 'containers');
    this.namesDir = path.join(this.dir, '.names');
  }

  containerDir(id: string): string {
    return path.join(this.dir, id);
  }

  static newId(): string {
    return randomHexId();
  }

  /** Claims the name and writes the container's directory; the state starts as 'created'. */
  create(config: Omit<ContainerConfig, 'name' | 'created'> & { name?: string }): ContainerInfo {
    if (config.name !== undefined) checkName(config.name, '--name');
    if (!this.prepared) {
      fs.mkdirSync(this.namesDir, { recursive: true, mode: 0o700 });
      this.prepared = true;
    }
    // The temp dir exists before the name is claimed and until it is renamed into place, so a name
    // link is only ever stale when neither directory of its owner exists (see claim).
    const tmp = this.tmpDir(config.id);
    fs.mkdirSync(tmp, { mode: 0o700 });
    let name: string;
    try {
      name = config.name ?? this.claimGenerated(config.id);
      if (config.name !== undefined && !this.claim(config.name, config.id)) {
        throw new BerthError(
          'CONTAINER_EXISTS',
          `The container name ${quote(config.name)} is already in use; remove that container (berth rm ${config.name}) or choose another --name`,
        );
      }
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    const full: ContainerConfig = { ...config, name, created: new Date().toISOString() };
    try {
      // Built in the temp dir and renamed, so a half-created container is never listed. No
      // state.json yet means 'created': one file less to write on every start.
      fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(full, null, 2));
      fs.renameSync(tmp, this.containerDir(config.id));
    } catch (e) {
      this.release(name, config.id);
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    return { config: full, state: { status: 'created' } };
  }

  private tmpDir(id: string): string {
    return path.join(this.dir, `.tmp-${id}`);
  }

  /** True when the name is now ours. A link whose owner has neither a container directory nor a
   *  creation under way (a crash mid-create, or mid-rm) is stale and taken over. */
  private claim(name: string, id: string): boolean {
    const link = path.join(this.namesDir, name);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.symlinkSync(id, link);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      // Taking a link over is decided under the names lock, which a rename holds from claiming its
      // new name to releasing its old one: a rename under way is never mistaken for a crashed one.
      if (!this.heldNamesLock) {
        if (!withLockSync(this.namesLock(), () => this.takeOverIfStale(link, name))) return false;
      } else if (!this.takeOverIfStale(link, name)) return false;
    }
    return false;
  }

  /** A link is live while its owner is being created (its temp dir) or its config names it; else
   *  it is the leftover of a crash mid-create, mid-rm or mid-rename, and goes. */
  private takeOverIfStale(link: string, name: string): boolean {
    const owner = readLink(link);
    if (owner !== undefined && fs.existsSync(this.tmpDir(owner))) return false;
    if (owner !== undefined && this.read(owner)?.config.name === name) return false;
    unlinkIfExists(link);
    return true;
  }

  private heldNamesLock = false;

  private namesLock(): string {
    // NAME_RE keeps every name from starting with a dot
    return path.join(this.namesDir, '.lock');
  }

  /** docker rename: the new name is claimed before the old is released, and config.json naming the
   *  new one is the commit point; a crash before it leaves an orphan new link, after it an orphan
   *  old one, and either is taken over by the next claim of that name (takeOverIfStale) while
   *  resolve ignores a link its container's config does not name. Returns the renamed config. */
  rename(id: string, newName: string): ContainerConfig {
    checkName(newName, 'the new name');
    fs.mkdirSync(this.namesDir, { recursive: true, mode: 0o700 });
    return withLockSync(this.namesLock(), () => {
      this.heldNamesLock = true;
      try {
        const info = this.read(id);
        if (!info) throw new BerthError('CONTAINER_NOT_FOUND', `No such container: ${quote(id)}`);
        const oldName = info.config.name;
        if (oldName === newName)
          throw new BerthError('INVALID_ARGUMENT', `Renaming a container with the same name as its current name (${quote(newName)})`);
        if (!this.claim(newName, id)) {
          const owner = readLink(path.join(this.namesDir, newName)) ?? '';
          throw new BerthError(
            'CONTAINER_EXISTS',
            `The container name ${quote(newName)} is already in use by container ${quote(owner)}; remove (or rename) that container to reuse the name`,
          );
        }
        const renamed = { ...info.config, name: newName };
        try {
          this.writeConfig(renamed);
        } catch (e) {
          this.release(newName, id);
          throw e;
        }
        this.release(oldName, id);
        return renamed;
      } finally {
        this.heldNamesLock = false;
      }
    });
  }

  private claimGenerated(id: string): string {
    for (;;) {
      const name = generateName();
      if (this.claim(name, id)) return name;
    }
  }

  private release(name: string, id: string): void {
    const link = path.join(this.namesDir, name);
    if (readLink(link) === id) unlinkIfExists(link);
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
    // newest first; `created` is toISOString()'s fixed-width ASCII, so an ordinal comparison orders
    // as localeCompare did, without ICU collation (~6 ms of a cold `ps -a` over 1,000 containers)
    return out.sort((a, b) => (a.config.created < b.config.created ? 1 : a.config.created > b.config.created ? -1 : 0));
  }

  /** Reads one container; undefined if it vanished (a concurrent rm). */
  read(id: string): ContainerInfo | undefined {
    const dir = this.containerDir(id);
    // config.json is there but for a concurrent rm: read at once rather than checked first (one
    // stat less per container in a listing of thousands)
    let config: ContainerConfig;
    try {
      config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as ContainerConfig;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw e;
    }
    const state = readJsonIfExists<ContainerState>(path.join(dir, 'state.json')) ?? { status: 'created' };
    return { config, state };
  }

  /** By name, full ID or unique ID prefix. */
  resolve(ref: string): ContainerInfo {
    const byName = NAME_RE.test(ref) ? readLink(path.join(this.namesDir, ref)) : undefined;
    const named = byName !== undefined ? this.read(byName) : undefined;
    // a link its container does not name is a crashed rename's leftover (see rename)
    if (named && named.config.name === ref) return named;
    if (/^[0-9a-f]{1,64}$/.test(ref)) {
      const ids = safeReaddir(this.dir).filter((d) => d.startsWith(ref));
      if (ids.length > 1)
        throw new BerthError('INVALID_ARGUMENT', `The ID prefix ${quote(ref)} matches ${ids.length} containers; give more characters`);
      const found = ids.length === 1 ? this.read(ids[0]) : undefined;
      if (found) return found;
    }
    throw new BerthError('CONTAINER_NOT_FOUND', `No such container: ${quote(ref)}`);
  }

  /** config.json again: only `network connect/disconnect` change a container's config after create. */
  writeConfig(config: ContainerConfig): void {
    writeJsonAtomic(path.join(this.containerDir(config.id), 'config.json'), config);
  }

  writeState(id: string, state: ContainerState): void {
    writeJsonAtomic(path.join(this.containerDir(id), 'state.json'), state);
  }

  /** Deletes the container's directory (write layer included) and frees its name. The container
   *  disappears at once: its directory is renamed out of sight and the name released. Deleting the
   *  files is the slow part (a write layer may hold thousands); `background` leaves it to a promise
   *  a worker thread of this process, `detached` to an `rm -rf` that outlives it (the CLI, which exits
   *  right away). sweep() finishes whatever a crash interrupted. */
  remove(id: string, opts: { background?: boolean; detached?: boolean; name?: string } = {}): void {
    const name = opts.name ?? readJsonIfExists<ContainerConfig>(path.join(this.containerDir(id), 'config.json'))?.name;
    const doomed = path.join(this.dir, `.rm-${id}`);
    try {
      fs.renameSync(this.containerDir(id), doomed);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (name !== undefined) this.release(name, id);
    if (opts.detached) {
      try {
        native().spawnDetached(['/bin/rm', '-rf', '--', doomed]);
        return;
      } catch {
        // no /bin/rm: delete here
      }
    }
    if (opts.background) {
      native()
        .removeTree(doomed)
        .catch(() => undefined);
      return;
    }
    fs.rmSync(doomed, { recursive: true, force: true });
  }

  /** Removes leftovers of creations and removals that crashed half-way. Only ones older than a
   *  minute: a younger one may belong to a create or purge still under way. */
  sweep(now = Date.now()): void {
    for (const n of safeReaddir(this.dir)) {
      if (!n.startsWith('.tmp-') && !n.startsWith('.rm-')) continue;
      const p = path.join(this.dir, n);
      try {
        if (now - fs.statSync(p).mtimeMs < 60_000) continue;
      } catch {
        continue;
      }
      fs.rmSync(p, { recursive: true, force: true });
    }
  }
}

function checkName(name: string, what: string): void {
  if (!NAME_RE.test(name))
    throw new BerthError('INVALID_ARGUMENT', `Expected a container name of letters, digits, _ . - for ${what} but received ${quote(name)}`);
}

function unlinkIfExists(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function readLink(p: string): string | undefined {
  try {
    return fs.readlinkSync(p);
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** A state that says running but whose process is gone (berth was killed) is the truth no longer. */
export function reconcile(state: ContainerState): ContainerState {
  if (!isRunning(state) || state.pid === undefined) return state;
  const start = processStartTime(state.pid);
  if (start !== undefined && start === state.pidStartTime) return state;
  // A live shim is about to record the exit (or a restart) itself: its word is better than ours.
  if (state.shimPid !== undefined && isShim(state.shimPid)) return state;
  return {
    ...state,
    status: 'exited',
    exitCode: state.exitCode ?? 255,
    finishedAt: state.finishedAt ?? new Date().toISOString(),
    error: state.error ?? 'the container process disappeared while berth was not watching it (berth was killed?)',
  };
}

/** True when pid is a running berth-shim (checked by its executable, so a reused PID is not). */
export function isShim(pid: number): boolean {
  // the shim runs from a sealed memfd ("/memfd:berth-shim (deleted)"); older ones from the file
  const exe = processExecutable(pid);
  return exe !== undefined && processStartTime(pid) !== undefined && (exe.endsWith('/berth-shim') || exe === '/memfd:berth-shim (deleted)');
}

function generateName(): string {
  const pick = (n: number) => Math.floor(Math.random() * n);
  return `${ADJECTIVES[pick(ADJECTIVES.length)]}_${NOUNS[pick(NOUNS.length)]}_${pick(10000)}`;
}
