/**
 * berth-oci: runc's command line over berth's OCI runtime (src/oci). Global flags before the
 * command as runc's; every failure is one line (stderr, and --log in its format) and exit status
 * 1; `run` and `exec` exit with the container process's status. Commands load their modules only
 * when run, and the runtime is constructed only by commands that need one: a caller such as
 * conmon or containerd's shim runs berth-oci several times per container.
 */
import * as path from 'node:path';
import type { OciRuntimeApi } from '../oci/runtime-api';
import { OCI_VERSION } from '../oci/spec';
import type { Command, Context, Io } from './command';
import { errorMessage, OciCliError } from './errors';
import { flagHelp, parseFlags } from './flags';
import { Logger } from './log';

const GLOBAL_FLAGS = [
  { name: 'debug', kind: 'bool', usage: 'enable debug logging' },
  { name: 'log', kind: 'string', usage: "set the log file to write berth-oci logs to (default is '/dev/stderr')" },
  { name: 'log-format', kind: 'string', default: 'text', usage: "set the log format ('text' (default), or 'json')" },
  {
    name: 'root',
    kind: 'string',
    default: '/run/berth-oci',
    usage: 'root directory for storage of container state (this should be located in tmpfs)',
  },
  {
    name: 'criu',
    kind: 'string',
    default: 'criu',
    usage: 'path to the criu binary used for checkpoint and restore (ignored: berth-oci does not drive CRIU)',
  },
  { name: 'systemd-cgroup', kind: 'bool', usage: 'enable systemd cgroup support (not supported: berth-oci drives cgroupfs only)' },
  { name: 'rootless', kind: 'string', default: 'auto', usage: "ignore cgroup permission errors ('true', 'false', or 'auto')" },
  { name: 'version', short: 'v', kind: 'bool', usage: 'print the version' },
] as const;

/** The command table, each module loaded on first use (import(): typed, and vitest can follow it). */
const COMMANDS: Record<string, () => Promise<Command>> = {
  checkpoint: async () => (await import('./lifecycle')).checkpoint,
  create: async () => (await import('./lifecycle')).create,
  delete: async () => (await import('./lifecycle')).del,
  events: async () => (await import('./inspect')).events,
  exec: async () => (await import('./exec')).exec,
  kill: async () => (await import('./lifecycle')).kill,
  list: async () => (await import('./inspect')).list,
  pause: async () => (await import('./lifecycle')).pause,
  ps: async () => (await import('./inspect')).ps,
  restore: async () => (await import('./lifecycle')).restore,
  resume: async () => (await import('./lifecycle')).resume,
  run: async () => (await import('./lifecycle')).run,
  spec: async () => (await import('./spec-command')).specCommand,
  start: async () => (await import('./lifecycle')).start,
  state: async () => (await import('./lifecycle')).state,
  update: async () => (await import('./update')).update,
  features: async () => (await import('./features')).featuresCommand,
};

/** The real runtime over a state root; its warnings (a hook that failed after start) and debug
 *  lines (an LSM label ignored on a host without that LSM) go to the log. src/oci/runtime.ts is written beside this command line;
 *  until it is there, every command that needs it says so in one line. */
export function loadRuntime(root: string, warn?: (line: string) => void, debug?: (line: string) => void): OciRuntimeApi {
  let mod: { OciRuntime?: new (root: string, warn?: (line: string) => void, debug?: (line: string) => void) => OciRuntimeApi };
  try {
    mod = require('../oci/runtime') as typeof mod;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((e as Error).message).includes('oci/runtime')) {
      throw new OciCliError('this build has no OCI runtime: src/oci/runtime.ts is missing');
    }
    throw e;
  }
  if (typeof mod.OciRuntime !== 'function') throw new OciCliError('src/oci/runtime.ts exports no OciRuntime class');
  return new mod.OciRuntime(root, warn, debug);
}

const processIo: Io = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  stdin: () => (require('node:fs') as typeof import('node:fs')).readFileSync(0, 'utf8'),
};

/** Runs one command line (without the program name); resolves the exit status. Never throws:
 *  a failure is logged, and is status 1. */
export async function main(argv: string[], runtime?: OciRuntimeApi, io: Io = processIo): Promise<number> {
  let log = Logger.fallback(io.stderr);
  try {
    const g = parseFlags(GLOBAL_FLAGS, argv, false);
    log = new Logger({ file: g.log, format: g['log-format'], debug: g.debug, stderr: io.stderr });
    if (g.version) {
      io.stdout(versionText());
      return 0;
    }
    const [name, ...rest] = g._;
    if (g.help || name === undefined) {
      io.stdout(await globalHelp());
      return 0;
    }
    if (name === 'help' || name === 'h') return await help(rest[0], io);
    if (!Object.hasOwn(COMMANDS, name)) throw new OciCliError(`No help topic for '${name}'; see 'berth-oci --help'`);
    if (g['systemd-cgroup'])
      throw new OciCliError(
        "--systemd-cgroup is not supported: berth-oci drives cgroupfs only (use a cgroupsPath that is a path, and the caller's cgroupfs manager)",
      );
    if (!['auto', 'true', 'false'].includes(g.rootless))
      throw new OciCliError(`invalid value ${JSON.stringify(g.rootless)} for flag -rootless: expected true, false or auto`);
    const root = path.resolve(g.root);
    log.debug(`berth-oci ${argv.map((a) => JSON.stringify(a)).join(' ')}`);
    let rt = runtime;
    const ctx: Context = {
      root,
      log,
      io,
      runtime: () =>
        (rt ??= loadRuntime(
          root,
          (line) => log.warn(line),
          (line) => log.debug(line),
        )),
    };
    return await (await COMMANDS[name]()).execute(rest, ctx);
  } catch (e) {
    log.error(errorMessage(e));
    if (process.env.BERTH_DEBUG && e instanceof Error && e.stack) io.stderr(`${e.stack}\n`);
    return 1;
  }
}

async function help(topic: string | undefined, io: Io): Promise<number> {
  if (topic === undefined) {
    io.stdout(await globalHelp());
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, topic)) throw new OciCliError(`No help topic for '${topic}'`);
  io.stdout((await COMMANDS[topic]()).help());
  return 0;
}

export function versionText(): string {
  const { version } = require('../../package.json') as { version: string };
  // runc's shape (docker reads the first line's version and a `commit:` line where there is one).
  return `berth-oci version ${version}\nspec: ${OCI_VERSION}\nnode: ${process.version}\n`;
}

async function globalHelp(): Promise<string> {
  const names = Object.keys(COMMANDS).sort();
  const width = Math.max(...names.map((n) => n.length), 'help, h'.length);
  const summaries = await Promise.all(names.map(async (n) => (await COMMANDS[n]()).summary));
  const commands = names.map((n, i) => `   ${n.padEnd(width)}  ${summaries[i]}`).join('\n');
  return `NAME:
   berth-oci - Open Container Initiative runtime (berth, runc-compatible)

USAGE:
   berth-oci [global options] command [command options] [arguments...]

VERSION:
${versionText()
  .trimEnd()
  .split('\n')
  .map((l, i) => (i === 0 ? `   ${l.replace(/^berth-oci version /, '')}` : l))
  .join('\n')}

COMMANDS:
${commands}
   ${'help, h'.padEnd(width)}  Shows a list of commands or help for one command

GLOBAL OPTIONS:
${flagHelp(GLOBAL_FLAGS)}`;
}

/** What the executable runs (the launcher calls it; so does `node dist/oci-cli/main.js`). */
export function cli(): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}

if (require.main === module) cli();
