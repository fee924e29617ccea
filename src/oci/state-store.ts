/**
 * berth-oci's state: one directory per container under --root (default /run/berth-oci), with
 * state.json (written atomically) and, until `start`, the exec fifo the init waits on. Nothing of
 * berth-oci runs between commands; the state is what the next command reads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { readJsonIfExists, writeJsonAtomic } from '../util/fs';
import { processStartTime } from '../util/proc';
import { quote } from '../util/quote';
import type { Spec, State } from './spec';
import { OCI_VERSION } from './spec';

export interface ContainerRecord {
  id: string;
  bundle: string;
  pid: number;
  /** With the pid, names the init for good (a reused pid is another process). */
  pidStartTime: number;
  created: string;
  /** The cgroup, as the config placed it. */
  cgroup: { parent: string; name: string };
  config: Spec;
  owner: number;
}

// runc's rule: a name that is safe as a path component and in a cgroup path.
const ID = /^[\w+.-]+$/;

export class OciStateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    if (!ID.test(id) || id === '.' || id === '..') {
      throw new BerthError('INVALID_ARGUMENT', `Invalid container ID ${quote(id)}: use letters, digits and _ + - . only`);
    }
    return path.join(this.root, id);
  }

  fifo(id: string): string {
    return path.join(this.dir(id), 'exec.fifo');
  }

  /** Claims the ID: mkdir is the lock against a second create of the same one. */
  claim(id: string): string {
    const dir = this.dir(id);
    fs.mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      fs.mkdirSync(dir, { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new BerthError('CONTAINER_EXISTS', `container with id exists: ${id}`);
      throw e;
    }
    return dir;
  }

  write(r: ContainerRecord): void {
    writeJsonAtomic(path.join(this.dir(r.id), 'state.json'), r, 0o600);
  }

  read(id: string): ContainerRecord {
    const r = readJsonIfExists<ContainerRecord>(path.join(this.dir(id), 'state.json'));
    if (!r) throw new BerthError('CONTAINER_NOT_FOUND', `container does not exist: ${id}`);
    return r;
  }

  ids(): string[] {
    try {
      return fs.readdirSync(this.root).filter((n) => ID.test(n) && fs.existsSync(path.join(this.root, n, 'state.json')));
    } catch {
      return [];
    }
  }

  remove(id: string): void {
    fs.rmSync(this.dir(id), { recursive: true, force: true });
  }

  /** The spec's state of a record: the init alive and its fifo still there is created; alive
   *  without it running (or paused, frozen); gone, stopped. */
  state(r: ContainerRecord, frozen: boolean): State {
    const alive = processStartTime(r.pid) === r.pidStartTime;
    const status = !alive ? 'stopped' : fs.existsSync(this.fifo(r.id)) ? 'created' : frozen ? 'paused' : 'running';
    return {
      ociVersion: OCI_VERSION,
      id: r.id,
      status,
      ...(alive ? { pid: r.pid } : { pid: 0 }),
      bundle: r.bundle,
      annotations: r.config.annotations ?? {},
    };
  }
}
