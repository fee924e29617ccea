/**
 * A foreground `berth run` (and `start -a`), as docker's: the container runs under its shim like a
 * detached one, and this process is an attach client from before it starts, so that every byte
 * of its output reaches the terminal and its json-file log alike (`berth logs` works afterwards),
 * the detach keys can leave it running, and its exit code comes back from the shim (even for
 * --rm, whose record the shim removes).
 */
import { invalid } from '../errors';
import type { AttachConnection, Berth, ContainerInfo } from '../index';
import { onCniNetwork } from '../runtime/container-predicates';
import type { AttachStart } from '../runtime/attach-socket';
import { attachTerminal, flagSetFalse, parseDetachKeys } from './attach';
import type { Flags } from './flags';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** run's flags about attaching (not create's: it attaches nothing). */
export const RUN_ATTACH_FLAGS = [
  {
    name: '--attach',
    short: 'a',
    kind: 'strings',
    value: 'STREAM',
    help: 'Attach to STDIN, STDOUT or STDERR (default STDOUT and STDERR, and STDIN with -i)',
  },
  {
    name: '--sig-proxy',
    kind: 'boolean',
    help: 'Proxy received signals to the process, without a tty (default true; --sig-proxy=false: not)',
  },
  {
    name: '--detach-keys',
    kind: 'string',
    value: 'KEYS',
    help: 'Override the key sequence for detaching a container (default "ctrl-p,ctrl-q")',
  },
] as const satisfies Flags;

export interface Streams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** -a STREAM (repeatable, any case); none given: stdout and stderr, stdin with -i. */
export function attachedStreams(attach: string[] | undefined, interactive: boolean): Streams {
  if (!attach?.length) return { stdin: interactive, stdout: true, stderr: true };
  const s: Streams = { stdin: false, stdout: false, stderr: false };
  for (const a of attach) {
    const k = a.toLowerCase();
    if (k !== 'stdin' && k !== 'stdout' && k !== 'stderr') throw invalid('--attach', 'STDIN, STDOUT or STDERR', a);
    s[k] = true;
  }
  // stdin reaches the container only when it is open (-i), as docker's OpenStdin
  return { ...s, stdin: s.stdin && interactive };
}

/** What an attached start takes from the command line, checked before anything is created. */
export interface AttachedRun {
  streams: Streams;
  detachKeys: number[];
  sigProxy: boolean;
  tty: boolean;
}

export function attachedRun(
  args: { attach?: string[]; detachKeys?: string; interactive: boolean; tty: boolean },
  operand?: string,
): AttachedRun {
  return {
    streams: attachedStreams(args.attach, args.interactive),
    detachKeys: parseDetachKeys(args.detachKeys ?? DEFAULT_DETACH_KEYS),
    sigProxy: !flagSetFalse(process.argv, '--sig-proxy', operand),
    tty: args.tty,
  };
}

/**
 * Starts through `start` (berth.runDetached or berth.start with the AttachStart it is given) and
 * stays attached until the container exits (its exit code) or is detached from (0).
 */
export async function runAttached(
  berth: Berth,
  o: AttachedRun,
  start: (attach: AttachStart) => Promise<ContainerInfo>,
  started?: (info: ContainerInfo) => void,
): Promise<number> {
  let conn: AttachConnection | undefined;
  const info = await start({
    onAttach: (c) => (conn = c),
    stdinOnce: o.streams.stdin,
    ttySize: o.tty ? [process.stdout.rows || 24, process.stdout.columns || 80] : undefined,
  });
  started?.(info);
  const { config } = info;
  // What only Node releases (CNI networks, an --rm container's anonymous volumes): the shim's exit
  // command would, in a Node of its own after we return; we do it before returning instead.
  const releases = onCniNetwork(config) || (config.autoRemove && config.volumes.some((v) => v.anonymous));
  if (releases) conn!.claimExit();
  const r = await attachTerminal(conn!, {
    tty: o.tty,
    ...o.streams,
    detachKeys: o.detachKeys,
    sigProxy: o.sigProxy,
    kill: (sig) => {
      try {
        berth.kill(info.config.id, sig);
      } catch {
        // it has exited meanwhile
      }
    },
  });
  if (!r.exit) {
    if (r.detached && isRunningNow(berth, info)) return 0;
    // the shim went away without telling: its record says how the container ended
    return (await berth.wait(info.config.id)).exitCode ?? 125;
  }
  if (releases) await berth.runtime.cleanup(config.id, info.state.shimPid);
  if (r.exit.oomKilled) {
    process.stderr.write(`berth: container ${config.name} was killed by the OOM killer: it needed more memory than its --memory limit\n`);
  }
  return r.exit.exitCode;
}

function isRunningNow(berth: Berth, info: ContainerInfo): boolean {
  try {
    return berth.runtime.resolve(info.config.id).state.status === 'running';
  } catch {
    return false;
  }
}
