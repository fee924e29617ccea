/**
 * What berth-oci's command line (src/oci-cli) asks of the OCI runtime (src/oci/runtime.ts): runc's
 * commands as methods. Every method throws a BerthError with a one-line message on failure and
 * leaves nothing behind (no state dir, cgroup, mount or process of a failed create).
 */
import type { Process, Resources, State } from './spec';

export interface CreateOptions {
  /** The bundle directory (config.json, and root.path relative to it). */
  bundle: string;
  /** A unix socket path: with process.terminal, the pty master is sent there over SCM_RIGHTS. */
  consoleSocket?: string;
  /** Written (the init's host pid, no newline, as runc does) before create returns. */
  pidFile?: string;
  /** runc's --no-pivot: MS_MOVE + chroot instead of pivot_root (for a rootfs on a ramdisk). */
  noPivot?: boolean;
  /** runc's --no-new-keyring: berth never makes a session keyring, so this changes nothing. */
  noNewKeyring?: boolean;
  /** Descriptors 3 .. 3+N-1 of the caller become the container's too (runc --preserve-fds). */
  preserveFds?: number;
  /** With process.terminal and no console socket: receives the pty master, which the caller
   *  then owns (a foreground `run` copies it to its own stdio, as runc does). */
  onPty?: (master: number) => void;
}

export interface ExecOptions {
  process: Process;
  consoleSocket?: string;
  pidFile?: string;
  /** Return once the process runs instead of waiting for its exit. */
  detach?: boolean;
  preserveFds?: number;
  /** As CreateOptions.onPty, for a foreground `exec --tty` without a console socket. */
  onPty?: (master: number) => void;
}

export interface OciRuntimeApi {
  /** Makes the container (namespaces, cgroup, mounts, pivot_root done) with its init waiting
   *  before execve until start; runs the createRuntime/prestart hooks. Status 'created'. */
  create(id: string, o: CreateOptions): Promise<void>;
  /** Lets a created container's init exec the user process; runs poststart hooks. */
  start(id: string): Promise<void>;
  state(id: string): State;
  list(): State[];
  /** Signal the init (or with `all` every process of the container's cgroup). */
  kill(id: string, signal: number, all: boolean): void;
  /** Removes a stopped container (with `force` also a created or running one, killing it first);
   *  runs poststop hooks. */
  delete(id: string, force: boolean): Promise<void>;
  /** A new process in a running container; resolves its exit code, or 0 once started with detach. */
  exec(id: string, o: ExecOptions): Promise<number>;
  pause(id: string): void;
  resume(id: string): void;
  /** Host pids of every process of the container. */
  pids(id: string): number[];
  update(id: string, resources: Resources): void;
  /** Cgroup statistics for `events --stats` (runc's JSON shape: {type:'stats', id, data}). */
  stats(id: string): Record<string, unknown>;
}
