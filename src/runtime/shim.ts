import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { BerthError, type SystemError } from '../errors';
import { AttachConnection } from './attach-socket';
import { native } from '../native';
import { quote } from '../util/quote';

/** Where node-gyp puts the shim and init executables (next to the addon). */
export const SHIM_PATH = path.join(__dirname, '..', '..', 'build', 'Release', 'berth-shim');
export const INIT_PATH = path.join(__dirname, '..', '..', 'build', 'Release', 'berth-init');
/** The helper that joins a running container for exec (native/core/enter.h). */
export const NSENTER_PATH = path.join(__dirname, '..', '..', 'build', 'Release', 'berth-nsenter');
/** The CLI the shim's exit command runs (from src/, dist/ and the dist/cli bundle alike). */
export const CLI_PATH = path.join(__dirname, '..', '..', 'dist', 'cli', 'berth.js');

export type RestartPolicyName = 'no' | 'always' | 'on-failure' | 'unless-stopped';

export interface RestartPolicy {
  name: RestartPolicyName;
  /** on-failure only: retries before giving up (0 = unlimited). */
  maxRetries: number;
}

export interface LogOptions {
  /** Bytes per log file before it is rotated; 0 = unbounded. */
  maxSize: number;
  /** Files kept, the current one included. */
  maxFiles: number;
  /** docker's --log-driver: json-file (default) or none (no log at all). */
  driver?: 'json-file' | 'none';
}

/** The shim's configuration file: key=value lines (see native/shim). Values never hold a newline. */
export interface ShimConfig {
  plan: string;
  state: string;
  /** The json-file log; none for --log-driver none. */
  log?: string;
  logMaxSize: number;
  logMaxFiles: number;
  cgroupDirs: string[];
  oomFile?: string;
  oomKey?: string;
  restart: RestartPolicy;
  stopMarker: string;
  removeDir?: string;
  nameLink?: string;
  /** Run by the shim after the final exit, its pid appended (berth container cleanup). */
  exitCommand?: string[];
  /** The events journal and the lines the shim appends to it (events-journal.ts shimEventTemplate:
   *  %EXIT%, %TIME%, %NANO% filled in): die at every exit, start at a restart, destroy of --rm. */
  events?: { journal: string; die: string; start: string; destroy?: string };
  /** The attach socket the shim serves (attach-socket.ts). */
  attachSocket?: string;
  /** fd 4 of the shim is a client connected already: it sees the output from the first byte. */
  attached?: boolean;
  /** -i: the container's stdin is fed by attach clients; stdinOnce: closed when a client's ends. */
  stdinOpen?: boolean;
  stdinOnce?: boolean;
}

export function formatShimConfig(c: ShimConfig): string {
  const lines = [
    `plan=${c.plan}`,
    `state=${c.state}`,
    ...(c.log ? [`log=${c.log}`] : []),
    `log_max_size=${c.logMaxSize}`,
    `log_max_files=${c.logMaxFiles}`,
    ...c.cgroupDirs.map((d) => `cgroup_dir=${d}`),
    ...(c.oomFile ? [`oom_file=${c.oomFile}`, `oom_key=${c.oomKey ?? 'oom_kill'}`] : []),
    `restart=${c.restart.name}`,
    `restart_max=${c.restart.maxRetries}`,
    `stop_marker=${c.stopMarker}`,
    ...(c.removeDir ? [`remove_dir=${c.removeDir}`] : []),
    ...(c.nameLink ? [`name_link=${c.nameLink}`] : []),
    ...(c.exitCommand ?? []).map((a) => `exit_command=${a}`),
    ...(c.events
      ? [
          `event_journal=${c.events.journal}`,
          `event_die=${c.events.die}`,
          `event_start=${c.events.start}`,
          ...(c.events.destroy ? [`event_destroy=${c.events.destroy}`] : []),
        ]
      : []),
    ...(c.attachSocket ? [`attach_socket=${c.attachSocket}`] : []),
    ...(c.attached ? ['attached=1'] : []),
    ...(c.stdinOpen ? ['stdin_open=1'] : []),
    ...(c.stdinOnce ? ['stdin_once=1'] : []),
  ];
  for (const l of lines)
    if (l.includes('\n')) throw new BerthError('INVALID_ARGUMENT', `A path given to the shim contains a newline: ${quote(l)}`);
  return lines.join('\n') + '\n';
}

export interface ShimStarted {
  pid: number;
  startTime: number;
  /** With `attached`: our end of the socketpair the shim holds as an attach client. */
  attach?: AttachConnection;
}

/** A child failure as the shim reports it, shaped like the addon's errors so that startError can
 *  describe it the same way. */
function shimFailure(line: string): SystemError {
  const [step, errno, index, p] = line.slice(4).split('\t');
  const err = Number(errno);
  const names: Record<number, string> = {
    1: 'EPERM',
    2: 'ENOENT',
    13: 'EACCES',
    8: 'ENOEXEC',
    18: 'EXDEV',
    20: 'ENOTDIR',
    21: 'EISDIR',
    22: 'EINVAL',
  };
  // strerror's words, as the addon's errors of a foreground start had them
  const texts: Record<number, string> = {
    1: 'Operation not permitted',
    2: 'No such file or directory',
    8: 'Exec format error',
    13: 'Permission denied',
    18: 'Invalid cross-device link',
    20: 'Not a directory',
    21: 'Is a directory',
    22: 'Invalid argument',
  };
  const e = new Error(`${step}${p ? ` ${p}` : ''}: ${texts[err] ?? `errno ${err}`}`) as SystemError & { step: string; index: number };
  e.code = names[err] ?? `E${err}`;
  e.errno = err;
  e.syscall = step;
  e.step = step;
  e.index = Number(index);
  if (p) e.path = p;
  return e;
}

/** Starts berth-shim for one container and waits for its one-line report on fd 3. `attached`:
 *  the shim gets a socketpair as fd 4 (libuv makes 'pipe' stdio of a socketpair), an attach
 *  client from before the container starts. */
export function startShim(configFile: string, timeoutMs = 30_000, attached = false): Promise<ShimStarted> {
  if (!fs.existsSync(SHIM_PATH)) {
    return Promise.reject(
      new BerthError('INTERNAL', `berth-shim is missing at ${SHIM_PATH}; rebuild the native parts with \`npm rebuild berth\``),
    );
  }
  return new Promise((resolve, reject) => {
    // node:child_process loads here only: a foreground `berth run` never starts a shim.
    const { spawn } = require('node:child_process') as typeof import('node:child_process');
    // From a sealed in-memory copy: the shim is the parent of everything the container runs, and
    // its /proc/PID/exe must never be the host's file (native/core/sealed_exe.h).
    const sealed = `/proc/${process.pid}/fd/${native().sealedExecutable(SHIM_PATH)}`;
    const child = spawn(sealed, [configFile], {
      argv0: 'berth-shim',
      stdio: ['ignore', 'ignore', 'ignore', 'pipe', ...(attached ? (['pipe'] as const) : [])],
    });
    const report = child.stdio[3]!;
    // read from now on: Node drains a stdio stream nobody reads once the child exits (at once)
    const attach = attached ? new AttachConnection(child.stdio[4] as Duplex) : undefined;
    let text = '';
    const timer = setTimeout(() => finish(new BerthError('START_FAILED', `berth-shim did not report within ${timeoutMs} ms`)), timeoutMs);
    const finish = (result: Error | ShimStarted) => {
      clearTimeout(timer);
      report.removeAllListeners();
      report.destroy();
      if (result instanceof Error) {
        attach?.close();
        reject(result);
      } else resolve(attach ? { ...result, attach } : result);
    };
    report.on('data', (b: Buffer) => {
      text += b.toString();
    });
    report.on('error', (e) => finish(e));
    report.on('close', () => {
      const line = text.split('\n')[0];
      if (line.startsWith('ok ')) {
        const [, pid, start] = line.split(' ');
        finish({ pid: Number(pid), startTime: Number(start) });
      } else if (line.startsWith('err ')) {
        finish(shimFailure(line));
      } else {
        finish(new BerthError('START_FAILED', `berth-shim ended without a report${line ? `: ${line}` : ''}`));
      }
    });
  });
}
