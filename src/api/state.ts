/**
 * What the service keeps between requests, in memory: exec instances (created by one request,
 * started by the next) and attach clients waiting for their container to start (the docker CLI
 * attaches before it starts a container, so that no output is lost). Containers themselves are
 * only in the state root, shared with the CLI.
 */
import type { Berth } from '../index';
import type { AttachConnection, AttachExit } from '../runtime/attach-socket';
import type { ExecOptions } from '../runtime/options';
import type { ContainerProcess } from '../runtime/container-process';

/** An attach request whose container has not started yet: started with it by the next start. */
export interface PendingAttach {
  /** Receives the connection once the container runs. */
  onConnection(c: AttachConnection): void;
  /** The client went away before the start. */
  closed: boolean;
  /** The start failed: the client's stream ends without output. */
  onStartFailed?(): void;
  stdinOnce: boolean;
}

export interface ExecInstance {
  id: string;
  containerId: string;
  options: ExecOptions;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  detachKeys?: string;
  /** Asked for by the client; berth grants it only in a privileged container (exec.ts). */
  privileged: boolean;
  /** [rows, cols] from create, start or a resize that came before the start. */
  ttySize?: [number, number];
  process?: ContainerProcess;
  /** Start was called (an instance runs once). */
  started: boolean;
  running: boolean;
  exitCode?: number;
  pid?: number;
  created: number;
  /** When the process ended (Date.now()): finished instances are dropped after a while. */
  finishedAt?: number;
}

export class ApiState {
  readonly pendingAttaches = new Map<string, PendingAttach[]>();
  /** What create was told that only a start needs: docker's StdinOnce and ConsoleSize. */
  readonly created = new Map<string, { stdinOnce: boolean; consoleSize?: [number, number] }>();
  /** Exits the shims reported on the service's attach connections, kept a minute: an --rm
   *  container's state may be gone before a wait(removed) sees it exited. */
  readonly exits = new Map<string, AttachExit>();
  /** The attach connection the service holds for a running container (for resize). */
  readonly connections = new Map<string, AttachConnection>();
  readonly execs = new Map<string, ExecInstance>();
  private readonly closers = new Set<() => void>();

  /** Waiting attaches of a container (those whose client left are dropped). */
  takeAttaches(id: string): PendingAttach[] {
    const list = (this.pendingAttaches.get(id) ?? []).filter((p) => !p.closed);
    this.pendingAttaches.delete(id);
    return list;
  }

  addAttach(id: string, p: PendingAttach): void {
    const list = this.pendingAttaches.get(id) ?? [];
    list.push(p);
    this.pendingAttaches.set(id, list);
  }

  recordExit(id: string, exit: AttachExit): void {
    this.exits.set(id, exit);
    setTimeout(() => this.exits.delete(id), 60_000).unref();
  }

  /** A container's new terminal size: through a connection the service holds, else a short one. */
  async resize(berth: Berth, id: string, rows: number, cols: number): Promise<void> {
    const held = this.connections.get(id);
    if (held) return held.resize(rows, cols);
    const conn = await berth.attach(id);
    conn.resize(rows, cols);
    // the frame is written before the connection ends (close() would drop what is still queued)
    await new Promise((r) => setTimeout(r, 20));
    conn.close();
  }

  /** Something to end when the service stops (a hijacked connection, a stream). */
  onClose(fn: () => void): () => void {
    this.closers.add(fn);
    return () => this.closers.delete(fn);
  }

  closeAll(): void {
    for (const fn of [...this.closers]) fn();
    this.closers.clear();
  }
}
