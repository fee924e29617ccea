/**
 * Volumes of the local driver on disk: <root>/volumes/<name>/{volume.json,_data}. A volume appears
 * whole or not at all: it is built in a temp directory and renamed into place (rename(2) fails when
 * the name exists). Every change, and every container creation that mounts volumes, holds
 * <root>/volumes/.lock, so `volume rm` can never remove a volume that a container being created is
 * about to record (and the in-use check of rm sees every container that does).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { readJsonIfExists } from '../util/fs';
import { withLockSync } from '../util/lock';
import { quote } from '../util/quote';
import { randomHexId } from '../util/random';
import { matchesVolumeFilters, type VolumeFilters } from './filters';
import { ANONYMOUS_LABEL, checkVolumeName, VOLUME_NAME_RE } from './names';

export interface VolumeRecord {
  name: string;
  driver: 'local';
  labels: Record<string, string>;
  createdAt: string;
  anonymous: boolean;
  /** The container an anonymous volume was made for (removed with it by rm -v and --rm). */
  container?: string;
}

/** `volume inspect`, in docker's shape. */
export interface VolumeInfo {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: Record<string, string>;
  Scope: 'local';
  CreatedAt: string;
  Options: Record<string, string>;
}

/** A container that mounts a volume, as the in-use checks name it. */
export interface VolumeUser {
  id: string;
  name: string;
}

export interface CreateVolumeOptions {
  name?: string;
  labels?: Record<string, string>;
  anonymous?: boolean;
  container?: string;
}

export class VolumeStore {
  readonly dir: string;
  private locked = false;

  /** usersOf lists the containers (running or not) whose config mounts the volume. */
  constructor(
    root: string,
    private readonly usersOf: (name: string) => VolumeUser[],
    /** docker's volume events (create, destroy) for the events journal; must not throw. */
    private readonly onEvent: (action: string, name: string, attributes: Record<string, string>) => void = () => {},
  ) {
    this.dir = path.join(root, 'volumes');
  }

  /** Runs fn holding the volumes' lock (reentrant within this store). */
  withLock<T>(fn: () => T): T {
    if (this.locked) return fn();
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    return withLockSync(path.join(this.dir, '.lock'), () => {
      this.locked = true;
      try {
        return fn();
      } finally {
        this.locked = false;
      }
    });
  }

  mountpoint(name: string): string {
    return path.join(this.dir, name, '_data');
  }

  /** docker volume create: a new volume, or the existing one of that name as it is. */
  create(opts: CreateVolumeOptions = {}): { record: VolumeRecord; created: boolean } {
    if (opts.name !== undefined) checkVolumeName(opts.name);
    return this.withLock(() => {
      const name = opts.name ?? randomHexId();
      const existing = this.read(name);
      if (existing) return { record: existing, created: false };
      const labels = { ...(opts.labels ?? {}), ...(opts.anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
      const record: VolumeRecord = {
        name,
        driver: 'local',
        labels,
        createdAt: new Date().toISOString(),
        anonymous: !!opts.anonymous,
        ...(opts.container ? { container: opts.container } : {}),
      };
      const tmp = path.join(this.dir, `.tmp-${randomHexId().slice(0, 16)}`);
      try {
        fs.mkdirSync(path.join(tmp, '_data'), { recursive: true, mode: 0o755 });
        fs.chmodSync(path.join(tmp, '_data'), 0o755); // not the umask's
        fs.writeFileSync(path.join(tmp, 'volume.json'), JSON.stringify(record, null, 2) + '\n');
        fs.renameSync(tmp, path.join(this.dir, name));
      } catch (e) {
        fs.rmSync(tmp, { recursive: true, force: true });
        throw e;
      }
      this.onEvent('create', name, { driver: record.driver });
      return { record, created: true };
    });
  }

  read(name: string): VolumeRecord | undefined {
    if (!VOLUME_NAME_RE.test(name)) return undefined;
    return readJsonIfExists<VolumeRecord>(path.join(this.dir, name, 'volume.json'));
  }

  get(name: string): VolumeRecord {
    const v = this.read(name);
    if (!v) throw new BerthError('VOLUME_NOT_FOUND', `No such volume: ${quote(name)}`);
    return v;
  }

  info(v: VolumeRecord): VolumeInfo {
    return {
      Name: v.name,
      Driver: v.driver,
      Mountpoint: this.mountpoint(v.name),
      Labels: v.labels,
      Scope: 'local',
      CreatedAt: v.createdAt,
      Options: {},
    };
  }

  list(filters: VolumeFilters = {}): VolumeRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir).filter((n) => VOLUME_NAME_RE.test(n));
    } catch {
      return [];
    }
    const all = names.flatMap((n) => this.read(n) ?? []);
    const needUse = filters.dangling !== undefined;
    return all
      .filter((v) =>
        matchesVolumeFilters(filters, {
          name: v.name,
          driver: v.driver,
          labels: v.labels,
          inUse: needUse && this.usersOf(v.name).length > 0,
        }),
      )
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** docker volume rm: refused while a container (running or not) mounts it. */
  remove(name: string, opts: { force?: boolean } = {}): VolumeRecord | undefined {
    return this.withLock(() => {
      const v = this.read(name);
      if (!v) {
        if (opts.force) return undefined;
        throw new BerthError('VOLUME_NOT_FOUND', `No such volume: ${quote(name)}`);
      }
      const users = this.usersOf(name);
      if (users.length > 0) {
        const names = users.map((u) => `${quote(u.name)} (${u.id.slice(0, 12)})`).join(', ');
        throw new BerthError(
          'INVALID_STATE',
          `Volume ${quote(name)} is in use by container ${names}; remove the container first (berth rm ${users[0].name})`,
        );
      }
      this.delete(name);
      return v;
    });
  }

  /** docker volume prune: unused anonymous volumes (every unused one with all), filtered. Also the
   *  leftovers of creations and removals a crash interrupted (never listed: their names start with a dot). */
  prune(opts: { all?: boolean; filters?: VolumeFilters } = {}): { removed: string[]; spaceReclaimed: number } {
    return this.withLock(() => {
      for (const n of fs.existsSync(this.dir) ? fs.readdirSync(this.dir) : []) {
        if (n.startsWith('.tmp-') || n.startsWith('.rm-')) fs.rmSync(path.join(this.dir, n), { recursive: true, force: true });
      }
      const removed: string[] = [];
      let spaceReclaimed = 0;
      for (const v of this.list(opts.filters)) {
        if ((!opts.all && !v.anonymous) || this.usersOf(v.name).length > 0) continue;
        spaceReclaimed += treeSize(this.mountpoint(v.name));
        this.delete(v.name);
        removed.push(v.name);
      }
      return { removed, spaceReclaimed };
    });
  }

  /** The volume gone from the listing at once (renamed away), then its files. */
  private delete(name: string): void {
    const doomed = path.join(this.dir, `.rm-${name}-${randomHexId().slice(0, 8)}`);
    fs.renameSync(path.join(this.dir, name), doomed);
    this.onEvent('destroy', name, { driver: 'local' });
    fs.rmSync(doomed, { recursive: true, force: true });
  }
}

/** Bytes of the regular files below dir (symlinks not followed). */
function treeSize(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += treeSize(p);
    else if (e.isFile()) total += fs.lstatSync(p).size;
  }
  return total;
}
