/**
 * The plain data berth-oci's native front (native/oci-front) answers from. conmon and
 * containerd's shim run `state`, `start`, `kill` and `delete` several times per container, and
 * Node's start is most of such a command's cost; the front answers them in a millisecond from this
 * file, which `create` writes beside state.json. Policy stays here: the file holds only what the
 * front must print, which files to read and which directories to remove, each decided by the
 * TypeScript that made them. Whenever the front meets anything else (an error to report, a hook
 * to run, a flag it does not know) it hands the whole command to Node unchanged.
 *
 * Format: `key NUL value NUL` pairs (a path may hold any byte but NUL), a key repeated for a list:
 *   pid, start-time   the init, and its start time (a reused pid is another process)
 *   head, mid, tail   the state JSON around the status and the pid (the front prints
 *                     head STATUS mid PID tail, exactly what `JSON.stringify(state, null, 2)` is)
 *   fifo              the exec fifo (`created` while it exists)
 *   freezer-v1        the v1 freezer cgroup (its freezer.state), or
 *   freezer-v2        the v2 cgroup whose cgroup.freeze/cgroup.events pause it
 *   cgroup            a directory delete removes, in order; its cgroup.procs lists what
 *                     `delete --force` kills
 *   empty-parent      a directory delete removes afterwards if it is empty
 *   hook              a kind of hook the config has (startContainer, poststart and poststop
 *                     are Node's to run)
 *   list-head, list-mid, list-tail
 *                     its `list --format json` entry around pid and status (head PID mid
 *                     STATUS tail), and list-bundle, list-created, list-owner its table cells
 */
import * as path from 'node:path';
import { writeFileAtomic } from '../util/fs';
import type { ListEntry } from './list-entry';
import type { State } from './spec';

export const NATIVE_STATE_FILE = 'native-state';

export interface NativeState {
  pid: number;
  startTime: number;
  /** The state as `berth-oci state` prints it; its status and pid are the front's to fill in. */
  state: State;
  fifo: string;
  freezer?: { version: 1 | 2; dir: string };
  cgroupDirs: string[];
  emptyParents: string[];
  hooks: string[];
  /** Its row of `list`, as the command line prints it (list-entry.ts). */
  listEntry: ListEntry;
}

// Stand-ins for the two values the front fills in; neither can occur in a real state.
const STATUS_MARK = '\u0000status';
const PID_MARK = -424242;

/** head, mid and tail: the printed state split around its status and pid. */
export function stateTemplate(state: State): { head: string; mid: string; tail: string } {
  const json = JSON.stringify({ ...state, status: STATUS_MARK, pid: PID_MARK }, null, 2) + '\n';
  const status = JSON.stringify(STATUS_MARK);
  const at = json.indexOf(status);
  const pidAt = json.indexOf(String(PID_MARK), at);
  if (at < 0 || pidAt < 0) throw new Error('the state JSON lost its status or pid');
  return { head: json.slice(0, at + 1), mid: json.slice(at + status.length - 1, pidAt), tail: json.slice(pidAt + String(PID_MARK).length) };
}

/** The list entry's JSON split around its pid and status (the entry has pid first). */
export function listTemplate(e: ListEntry): { head: string; mid: string; tail: string } {
  const json = JSON.stringify({ ...e, pid: PID_MARK, status: STATUS_MARK });
  const pidAt = json.indexOf(String(PID_MARK));
  const status = JSON.stringify(STATUS_MARK);
  const at = json.indexOf(status, pidAt);
  if (pidAt < 0 || at < 0) throw new Error('the list entry JSON lost its pid or status');
  return { head: json.slice(0, pidAt), mid: json.slice(pidAt + String(PID_MARK).length, at + 1), tail: json.slice(at + status.length - 1) };
}

export function encodeNativeState(s: NativeState): Buffer {
  const { head, mid, tail } = stateTemplate(s.state);
  const list = listTemplate(s.listEntry);
  const pairs: Array<[string, string]> = [
    ['pid', String(s.pid)],
    ['start-time', String(s.startTime)],
    ['head', head],
    ['mid', mid],
    ['tail', tail],
    ['fifo', s.fifo],
    ...(s.freezer ? [[`freezer-v${s.freezer.version}`, s.freezer.dir] as [string, string]] : []),
    ...s.cgroupDirs.map((d): [string, string] => ['cgroup', d]),
    ...s.emptyParents.map((d): [string, string] => ['empty-parent', d]),
    ...s.hooks.map((h): [string, string] => ['hook', h]),
    ['list-head', list.head],
    ['list-mid', list.mid],
    ['list-tail', list.tail],
    ['list-bundle', s.listEntry.bundle],
    ['list-created', s.listEntry.created],
    ['list-owner', s.listEntry.owner],
  ];
  for (const [k, v] of pairs) if (v.includes('\0')) throw new Error(`${k} holds a NUL byte`);
  return Buffer.from(pairs.map(([k, v]) => `${k}\0${v}\0`).join(''));
}

export function writeNativeState(dir: string, s: NativeState): void {
  writeFileAtomic(path.join(dir, NATIVE_STATE_FILE), encodeNativeState(s), 0o600);
}
