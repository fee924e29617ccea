/** The command table of `berth`: every command, the global options, and `berth --help` from them.
 *  Apart from main.ts, which runs on load, so that tests can read the table. */
import type { LoadCommand } from './command';
import type { Flags } from './flags';
import { commandLines, optionLines } from './help';

/** Every command: its line in `berth --help`, and its module, loaded only when invoked. */
export const COMMANDS: Record<string, [summary: string, load: LoadCommand]> = {
  run: ['Create and run a container from an image', async () => (await import('./run')).default],
  create: ['Create a new container without starting it', async () => (await import('./create')).default],
  exec: ['Run a command in a running container', async () => (await import('./exec')).default],
  attach: ['Attach to a running container', async () => (await import('./attach-command')).default],
  ps: ['List containers', async () => (await import('./ps')).default],
  logs: ['Print the output of a container', async () => (await import('./lifecycle-commands')).logs],
  start: ['Start stopped containers', async () => (await import('./lifecycle-commands')).start],
  stop: ['Stop running containers', async () => (await import('./lifecycle-commands')).stop],
  restart: ['Restart containers', async () => (await import('./lifecycle-commands')).restart],
  kill: ['Send a signal to containers', async () => (await import('./lifecycle-commands')).kill],
  wait: ['Wait for containers to stop, print exit codes', async () => (await import('./lifecycle-commands')).wait],
  top: ['Show the processes of a container', async () => (await import('./inspect-commands')).top],
  stats: ['Show resource usage of containers', async () => (await import('./inspect-commands')).stats],
  container: ['Container housekeeping (prune)', async () => (await import('./inspect-commands')).container],
  rm: ['Remove one or more containers', async () => (await import('./rm')).default],
  inspect: ['Show a container as JSON', async () => (await import('./inspect')).default],
  import: ['Import a flat rootfs tarball as an image', async () => (await import('./import')).default],
  images: ['List images', async () => (await import('./images')).default],
  rmi: ['Remove one or more images', async () => (await import('./rmi')).default],
  pull: ['Download an image from a registry', async () => (await import('./pull')).default],
  push: ['Upload an image to a registry', async () => (await import('./push')).default],
  commit: ["Create a new image from a container's changes", async () => (await import('./commit')).default],
  diff: ["Inspect changes to files or directories on a container's filesystem", async () => (await import('./diff')).default],
  export: ["Export a container's filesystem as a tar archive", async () => (await import('./export')).default],
  cp: ['Copy files/folders between a container and the local filesystem', async () => (await import('./cp')).default],
  save: ['Save images to an OCI image layout tar archive', async () => (await import('./save-load')).save],
  load: ['Load images from an OCI layout or docker save tar archive', async () => (await import('./save-load')).load],
  image: [
    'Manage images (inspect, history, prune, ls, rm, tag, pull, push, import, save, load)',
    async () => (await import('./image-commands')).image,
  ],
  login: ['Log in to a registry', async () => (await import('./login')).login],
  logout: ['Log out from a registry', async () => (await import('./login')).logout],
  history: ['Show the history of an image', async () => (await import('./history')).default],
  tag: ['Give an image another name', async () => (await import('./tag')).default],
  network: ['Manage networks (create, ls, inspect, rm, connect, disconnect)', async () => (await import('./network')).default],
  volume: ['Manage volumes (create, ls, inspect, rm, prune)', async () => (await import('./volume')).default],
  port: ['List the published ports of a container', async () => (await import('./port')).default],
  update: ["Update containers' resource limits", async () => (await import('./update')).default],
  rename: ['Rename a container', async () => (await import('./rename')).default],
  pause: ['Pause all processes within one or more containers', async () => (await import('./pause')).pause],
  unpause: ['Unpause all processes within one or more containers', async () => (await import('./pause')).unpause],
  system: ['Manage berth (service: the Docker Engine API; info, df, prune, events)', async () => (await import('./system')).system],
  events: ['Get real time events from berth', async () => (await import('./events')).default],
  info: ['Display system-wide information', async () => (await import('./system-info')).default],
  version: ['Show the berth version information', async () => (await import('./version')).default],
  bench: ['Measure mount and container start latency on this host', async () => (await import('./bench')).default],
};

/** Options before the command, for every command. */
export const GLOBAL_FLAGS = [
  { name: '--root', kind: 'string', value: 'DIR', help: 'Images, layers and containers (default $BERTH_ROOT or /var/lib/berth)' },
  { name: '--runroot', kind: 'string', value: 'DIR', help: 'Locks and runtime state (default $BERTH_RUNROOT or /run/berth)' },
  { name: '--storage-driver', kind: 'string', value: 'NAME', help: 'overlay (default) or aufs' },
  { name: '--cgroup-parent', kind: 'string', value: 'NAME', help: 'Parent cgroup of containers (default berth)' },
  { name: '--help', short: 'h', kind: 'boolean', help: 'Print usage' },
  { name: '--version', short: 'v', kind: 'boolean', help: 'Print version information and quit' },
] as const satisfies Flags;

export function globalHelp(): string {
  return `Usage: berth [OPTIONS] COMMAND

A container runtime: namespaces, overlayfs, cgroups.

Options:
${optionLines(GLOBAL_FLAGS).join('\n')}

Commands:
${commandLines(Object.entries(COMMANDS).map(([name, [summary]]) => [name, summary])).join('\n')}

Run 'berth COMMAND --help' for more information on a command.
`;
}
