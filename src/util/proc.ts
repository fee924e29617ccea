/**
 * What berth reads of a process in /proc (proc(5)): the one place that knows the files' formats.
 * The parsers take the files' text, so that they can be tested on plain strings.
 */
import * as fs from 'node:fs';

/** The fields of /proc/PID/stat berth uses. */
export interface ProcStat {
  /** Field 2, the executable's name (at most 15 bytes; may hold spaces and parentheses). */
  command: string;
  /** Field 3: R, S, D, Z (zombie), X (dead), ... */
  state: string;
  ppid: number;
  /** Field 22, clock ticks since boot: with the PID it names one process for good. */
  startTime: number;
}

/** One process as `top` lists it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  uid: number;
  command: string;
}

/** Parses /proc/PID/stat, or undefined when the text is not one. */
export function parseStat(text: string): ProcStat | undefined {
  // The command name may contain spaces and ')': it is what lies between the first '(' and the
  // last ')', and the numeric fields resume after that.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(' ');
  if (rest.length < 20) return undefined;
  return { command: text.slice(open + 1, close), state: rest[0], ppid: Number(rest[1]), startTime: Number(rest[19]) };
}

/** The real uid of /proc/PID/status (its Uid: line), or -1 without one. */
export function parseStatusUid(text: string): number {
  return Number(/^Uid:\s+(\d+)/m.exec(text)?.[1] ?? -1);
}

/** /proc/PID/cmdline as one line: the arguments joined by spaces (empty for a kernel thread or a
 *  process between its execve's start and end). */
export function parseCmdline(text: string): string {
  return text.split('\0').filter(Boolean).join(' ');
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Start time of a live process (see ProcStat.startTime), or undefined when no such process
 *  exists or it has ended (a zombie, or dead). Together with the PID it identifies one process. */
export function processStartTime(pid: number): number | undefined {
  const stat = readStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return undefined;
  return stat.startTime;
}

/** True while the PID names a process, a zombie included. */
export function processExists(pid: number): boolean {
  return fs.existsSync(`/proc/${pid}`);
}

/** What /proc/PID/exe points to, or undefined (no such process, or not ours to read). */
export function processExecutable(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/** pid, parent, uid and command line of a process; undefined when it exited meanwhile. */
export function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const stat = parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    if (!stat) return undefined;
    const uid = parseStatusUid(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    // A process in the middle of execve has no argv yet (for a few microseconds): asked again, it does.
    let cmdline = '';
    for (let i = 0; i < 3 && !cmdline && stat.state !== 'Z'; i++) {
      if (i > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      cmdline = parseCmdline(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    }
    return { pid, ppid: stat.ppid, uid, command: cmdline || stat.command };
  } catch {
    return undefined; // exited meanwhile
  }
}
