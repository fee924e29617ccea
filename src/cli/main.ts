#!/usr/bin/env node
/** berth's command line: docker's verbs and flags. Exit status: 125 for berth's own errors, 126 when
 *  the command cannot be invoked, 127 when it is not found, else the container's. */
import arg = require('arg');
import { BerthError, causeChain } from '../errors';
import { oneLine, quote } from '../util/quote';
import type { BerthOptions } from '../index';
import type { Command } from './command';

const COMMANDS: Record<string, [summary: string, load: () => Command]> = {
  run: ['Create and run a container from an image', () => require('./run').default],
  exec: ['Run a command in a running container', () => require('./exec').default],
  ps: ['List containers', () => require('./ps').default],
  logs: ['Print the output of a detached container', () => require('./lifecycle-commands').logs],
  start: ['Start stopped containers', () => require('./lifecycle-commands').start],
  stop: ['Stop running containers', () => require('./lifecycle-commands').stop],
  restart: ['Restart containers', () => require('./lifecycle-commands').restart],
  kill: ['Send a signal to containers', () => require('./lifecycle-commands').kill],
  wait: ['Wait for containers to stop, print exit codes', () => require('./lifecycle-commands').wait],
  top: ['Show the processes of a container', () => require('./inspect-commands').top],
  stats: ['Show resource usage of containers', () => require('./inspect-commands').stats],
  container: ['Container housekeeping (prune)', () => require('./inspect-commands').container],
  rm: ['Remove one or more containers', () => require('./rm').default],
  inspect: ['Show a container as JSON', () => require('./inspect').default],
  import: ['Import a flat rootfs tarball as an image', () => require('./import').default],
  images: ['List images', () => require('./images').default],
  rmi: ['Remove one or more images', () => require('./rmi').default],
  pull: ['Download an image from a registry', () => require('./pull').default],
  commit: ["Create a new image from a container's changes", () => require('./commit').default],
  export: ["Export a container's filesystem as a tar archive", () => require('./export').default],
  save: ['Save images to an OCI image layout tar archive', () => require('./save-load').save],
  load: ['Load images from an OCI layout or docker save tar archive', () => require('./save-load').load],
  image: ['Manage images (inspect, prune, ls, rm, tag, pull, import, save, load)', () => require('./image-commands').image],
  login: ['Log in to a registry', () => require('./login').login],
  logout: ['Log out from a registry', () => require('./login').logout],
  tag: ['Give an image another name', () => require('./tag').default],
  network: ['Manage networks (create, ls, inspect, rm, connect, disconnect)', () => require('./network').default],
  port: ['List the published ports of a container', () => require('./port').default],
};

const GLOBAL_HELP = `Usage: berth [OPTIONS] COMMAND

A container runtime: namespaces, overlayfs, cgroups.

Options:
      --root DIR              Images, layers and containers (default $BERTH_ROOT or /var/lib/berth)
      --runroot DIR           Locks and runtime state (default $BERTH_RUNROOT or /run/berth)
      --storage-driver NAME   overlay (default) or aufs
      --cgroup-parent NAME    Parent cgroup of containers (default berth)
  -v, --version               Print the version

Commands:
${Object.entries(COMMANDS).map(([n, [s]]) => `  ${n.padEnd(10)}${s}`).join('\n')}

Run 'berth COMMAND --help' for more information on a command.
`;

async function main(argv: string[]): Promise<number> {
  let global;
  const { normalizeArgv, parse } = require('./command') as typeof import('./command');
  const spec = { '--root': String, '--runroot': String, '--storage-driver': String, '--cgroup-parent': String, '--help': Boolean, '-h': '--help', '--version': Boolean, '-v': '--version' };
  try {
    global = arg(spec, { argv: normalizeArgv(spec, argv, true), stopAtPositional: true });
  } catch (e) {
    if (e instanceof BerthError) throw e;
    throw new BerthError('INVALID_ARGUMENT', `${(e as Error).message}; see 'berth --help'`);
  }
  if (global['--version']) {
    process.stdout.write(`berth version ${require('../../package.json').version}\n`);
    return 0;
  }
  const [name, ...rest] = global._;
  if (!name || global['--help'] || name === 'help') {
    process.stdout.write(GLOBAL_HELP);
    return name || global['--help'] || name === 'help' ? 0 : 1;
  }
  const entry = COMMANDS[name];
  if (!entry) throw new BerthError('INVALID_ARGUMENT', `${quote(name)} is not a berth command; see 'berth --help'`);
  const cmd = entry[1]();
  const args = parse(cmd, rest);
  if (args['--help']) {
    process.stdout.write(`Usage: berth ${cmd.usage}\n\n${cmd.summary}\n\nOptions:\n${cmd.help}\n`);
    return 0;
  }
  const options: BerthOptions = {
    root: global['--root'],
    runRoot: global['--runroot'],
    storageDriver: global['--storage-driver'],
    cgroupParent: global['--cgroup-parent'],
    // The CLI exits right after the container: deleting an --rm write layer is left to a background rm.
    detachedCleanup: true,
  };
  return (await cmd.run(args, options)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    // Everything is written (stdout and stderr are synchronous on Linux, pipes included) and
    // nothing is left to wait for: exiting now saves the loop's winding down (~1-2 ms).
    process.exit(code);
  },
  (e: unknown) => {
    const lines = causeChain(e);
    // One line per cause; a system error's message already names the call and the path. Control
    // characters of a value no message quoted are escaped: a cause is never split, nor forged.
    process.stderr.write(lines.map((l, i) => (i === 0 ? `berth: ${oneLine(l)}` : `  caused by: ${oneLine(l)}`)).join('\n') + '\n');
    if (process.env.BERTH_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exitCode = e instanceof BerthError ? e.exitStatus : 125;
  },
);
