import { Berth } from '../index';
import { invalid } from '../errors';
import { command, positionals } from './command';
import { writeStdout } from './write';

/** Label and value lines as docker aligns them: the values start in one column. */
export function alignedLines(rows: Array<[label: string, value: string]>, indent: string, width: number): string {
  return rows.map(([label, value]) => `${indent}${`${label}:`.padEnd(width)}${value}\n`).join('');
}

/** docker version's two sections: berth has no daemon, so the server is this root's runtime as
 *  the Engine API service (`berth system service`) reports it. */
export function versionText(server: Record<string, unknown>): string {
  const osArch = `${String(server.Os)}/${String(server.Arch)}`;
  const client = alignedLines(
    [
      ['Version', String(server.Version)],
      ['API version', String(server.ApiVersion)],
      ['Node version', process.version],
      ['OS/Arch', osArch],
      ['Context', 'default'],
    ],
    ' ',
    19,
  );
  const engine = alignedLines(
    [
      ['Version', String(server.Version)],
      ['API version', `${String(server.ApiVersion)} (minimum version ${String(server.MinAPIVersion)})`],
      ['Node version', process.version],
      ['OS/Arch', osArch],
      ['Kernel', String(server.KernelVersion)],
      ['Experimental', 'false'],
    ],
    '  ',
    18,
  );
  return `Client:\n${client}\nServer: berth\n Engine:\n${engine}`;
}

const version = command({
  name: 'version',
  summary: 'Show the berth version information.',
  flags: [{ name: '--format', short: 'f', kind: 'string', value: 'FORMAT', help: 'json: {"Client": ..., "Server": ...}' }],
  run(args, global): number {
    positionals(version, args, 0);
    if (args.format !== undefined && args.format !== 'json' && args.format !== '{{json .}}') throw invalid('--format', 'json', args.format);
    const server = new Berth(global).version();
    if (args.format !== undefined) {
      const client = {
        Platform: { Name: 'berth' },
        Version: server.Version,
        ApiVersion: server.ApiVersion,
        NodeVersion: process.version,
        Os: server.Os,
        Arch: server.Arch,
      };
      writeStdout(`${JSON.stringify({ Client: client, Server: server })}\n`);
    } else writeStdout(versionText(server));
    return 0;
  },
});

export default version;
