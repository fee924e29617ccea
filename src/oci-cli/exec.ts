/**
 * `berth-oci exec`: a process in a running container, from `--process FILE` alone, or from the
 * container's own config.json process with the arguments after the id and the flags on top (what
 * runc's getProcess does: env appended, --cap added to the bounding, effective and permitted sets,
 * the terminal off unless --tty).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExecOptions } from '../oci/runtime-api';
import type { Process, Spec } from '../oci/spec';
import { absolute, command } from './command';
import { errorMessage, OciCliError } from './errors';
import type { Parsed } from './flags';
import type { PtyProxy } from './pty-proxy';

const FLAGS = [
  {
    name: 'console-socket',
    kind: 'string',
    usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal",
  },
  { name: 'cwd', kind: 'string', usage: 'current working directory in the container' },
  { name: 'env', short: 'e', kind: 'strings', usage: 'set environment variables' },
  { name: 'tty', short: 't', kind: 'bool', usage: 'allocate a pseudo-TTY' },
  { name: 'user', short: 'u', kind: 'string', usage: 'UID (format: <uid>[:<gid>])' },
  { name: 'additional-gids', short: 'g', kind: 'strings', usage: 'additional gids' },
  { name: 'process', short: 'p', kind: 'string', usage: 'path to the process.json' },
  { name: 'detach', short: 'd', kind: 'bool', usage: "detach from the container's process" },
  { name: 'pid-file', kind: 'string', usage: 'specify the file to write the process id to' },
  { name: 'process-label', kind: 'string', usage: 'set the asm process label for the process commonly used with selinux' },
  { name: 'apparmor', kind: 'string', usage: 'set the apparmor profile for the process' },
  { name: 'no-new-privs', kind: 'bool', usage: 'set the no new privileges value for the process' },
  { name: 'cap', short: 'c', kind: 'strings', usage: 'add a capability to the bounding set for the process' },
  {
    name: 'preserve-fds',
    kind: 'uint',
    default: '0',
    usage: 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)',
  },
  {
    name: 'cgroup',
    kind: 'strings',
    usage: 'run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>. (not supported)',
  },
  { name: 'ignore-paused', kind: 'bool', usage: 'allow exec in a paused container' },
] as const;

type ExecArgs = Parsed<typeof FLAGS>;

export const exec = command({
  name: 'exec',
  summary: 'execute new process inside the container',
  args: '<container-id> <command> [command options]  || -p process.json <container-id>',
  flags: FLAGS,
  minArgs: 1,
  maxArgs: Infinity,
  reorder: false,
  async run(a, ctx) {
    const id = a._[0];
    if (a.cgroup.length > 0) throw new OciCliError('exec --cgroup is not supported by berth-oci');
    const rt = ctx.runtime();
    const process = a.process ? readProcessFile(a.process) : processFromFlags(a, () => bundleConfig(rt.state(id).bundle));
    validateProcess(process);
    const o: ExecOptions = { process, detach: a.detach };
    if (a['console-socket']) o.consoleSocket = absolute(a['console-socket']);
    if (a['pid-file']) o.pidFile = absolute(a['pid-file']);
    if (a['preserve-fds'] > 0) o.preserveFds = a['preserve-fds'];
    checkTerminal(process, a.detach, o.consoleSocket);
    if (!process.terminal || a.detach) return rt.exec(id, o);
    // A foreground tty: berth-oci holds it and copies it to its own stdio, as runc does.
    const { proxyPty } = await import('./pty-proxy');
    let pty: PtyProxy | undefined;
    o.onPty = (master) => (pty = proxyPty(master));
    const status = await rt.exec(id, o);
    await pty?.finish();
    return status;
  },
});

function readProcessFile(file: string): Process {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new OciCliError(`open ${file}: ${errorMessage(e)}`);
  }
  try {
    return JSON.parse(text) as Process;
  } catch (e) {
    throw new OciCliError(`${file}: ${errorMessage(e)}`);
  }
}

function bundleConfig(bundle: string): Spec {
  const file = path.join(bundle, 'config.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Spec;
  } catch (e) {
    throw new OciCliError(`the container's config ${file}: ${errorMessage(e)}`);
  }
}

/** runc's getProcess: the container's process, overridden by the command line. */
export function processFromFlags(a: ExecArgs, config: () => Spec): Process {
  const args = a._.slice(1);
  if (args.length === 0) throw new OciCliError('exec args cannot be empty');
  const base = config().process;
  if (!base) throw new OciCliError("the container's config.json has no process");
  // A copy: the config's arrays are not to be appended to in place.
  const p: Process = JSON.parse(JSON.stringify(base)) as Process;
  p.args = args;
  if (a.cwd) p.cwd = a.cwd;
  if (a.apparmor) p.apparmorProfile = a.apparmor;
  if (a['process-label']) p.selinuxLabel = a['process-label'];
  if (a.cap.length > 0) {
    const caps = (p.capabilities ??= {});
    for (const c of a.cap) {
      (caps.bounding ??= []).push(c);
      (caps.effective ??= []).push(c);
      (caps.permitted ??= []).push(c);
      // Ambient needs the inheritable set too; runc adds it only where the config has one.
      if (caps.inheritable) (caps.ambient ??= []).push(c);
    }
  }
  p.env = [...(p.env ?? []), ...a.env];
  p.terminal = a.tty;
  if (a.set.has('no-new-privs')) p.noNewPrivileges = a['no-new-privs'];
  if (a.user) {
    const [uid, gid] = splitOnce(a.user, ':');
    p.user = { ...p.user, uid: parseId(uid, 'uid') };
    if (gid !== undefined) p.user.gid = parseId(gid, 'gid');
  }
  if (a['additional-gids'].length > 0) {
    p.user = {
      ...p.user,
      additionalGids: [...(p.user.additionalGids ?? []), ...a['additional-gids'].map((g) => parseId(g, 'additional gid'))],
    };
  }
  return p;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** A numeric id: runc's exec takes no user names (it has no /etc/passwd of the container). */
function parseId(s: string, what: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n > 0xffffffff) throw new OciCliError(`bad ${what}: ${JSON.stringify(s)} is not a number from 0 to 4294967295`);
  return n;
}

/** runc's validateProcessSpec. */
export function validateProcess(p: Process | null | undefined): asserts p is Process {
  if (p === null || typeof p !== 'object') throw new OciCliError('process property must not be empty');
  if (!p.cwd) throw new OciCliError('Cwd property must not be empty');
  if (!path.isAbsolute(p.cwd)) throw new OciCliError('Cwd must be an absolute path');
  if (!Array.isArray(p.args) || p.args.length === 0) throw new OciCliError('args must not be empty');
  if (typeof p.user !== 'object' || p.user === null) throw new OciCliError('process.user must be an object with uid and gid');
}

/** runc's checkTerminal: a tty of a detached process can only go to a console socket, and a
 *  console socket without a tty (or with a process that stays attached) has nothing to receive;
 *  a tty of an attached process berth-oci holds itself. */
function checkTerminal(p: Process, detach: boolean, consoleSocket: string | undefined): void {
  if (detach && p.terminal && !consoleSocket)
    throw new OciCliError('cannot allocate tty if berth-oci will detach without setting console socket');
  if ((!detach || !p.terminal) && consoleSocket)
    throw new OciCliError('cannot use console socket if berth-oci will not detach or allocate tty');
}
