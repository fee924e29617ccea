import { Berth } from '../index';
import type { DiskUsage, UsageRow } from '../system/disk-usage';
import { familiar } from '../image/reference';
import { invalid } from '../errors';
import { command, humanDuration, humanSize, positionals, table } from './command';
import { statusText } from './ps';
import { writeStdout } from './write';

/** docker's RECLAIMABLE cell: the bytes and their share of the total. */
export function reclaimableText(row: UsageRow, percent = true): string {
  const share = row.size > 0 && percent ? ` (${Math.floor((row.reclaimable * 100) / row.size)}%)` : '';
  return `${humanSize(row.reclaimable)}${share}`;
}

/** The summary table of `docker system df`. */
export function summaryTable(u: DiskUsage): string {
  const row = (type: string, r: UsageRow, percent = true) => [
    type,
    String(r.total),
    String(r.active),
    humanSize(r.size),
    reclaimableText(r, percent),
  ];
  return table(
    ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
    [row('Images', u.images), row('Containers', u.containers), row('Local Volumes', u.volumes), row('Build Cache', u.buildCache, false)],
  );
}

function repoTag(name: string | undefined): [string, string] {
  if (!name) return ['<none>', '<none>'];
  const short = familiar(name);
  const colon = short.lastIndexOf(':');
  return colon > short.lastIndexOf('/') ? [short.slice(0, colon), short.slice(colon + 1)] : [short, '<none>'];
}

const ago = (iso: string, now: number) => `${humanDuration(now - Date.parse(iso))} ago`;

/** `docker system df -v`: each image, container and volume. */
export function verboseText(u: DiskUsage, now = Date.now()): string {
  const images = table(
    ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS'],
    u.images.items.map((i) => [
      ...repoTag(i.image.names[0]),
      i.image.id.replace(/^sha256:/, '').slice(0, 12),
      ago(i.image.created, now),
      humanSize(i.size),
      humanSize(i.sharedSize),
      humanSize(i.size - i.sharedSize),
      String(i.containers),
    ]),
  );
  const containers = table(
    ['CONTAINER ID', 'IMAGE', 'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES'],
    u.containers.items.map(({ container: c, sizeRw }) => {
      const cmd = c.config.argv.join(' ');
      return [
        c.config.id.slice(0, 12),
        c.config.image,
        JSON.stringify(cmd.length > 20 ? `${cmd.slice(0, 19)}…` : cmd),
        String(c.config.volumes.filter((v) => v.volume !== undefined).length),
        humanSize(sizeRw),
        ago(c.config.created, now),
        statusText(c, now),
        c.config.name,
      ];
    }),
  );
  const volumes = table(
    ['VOLUME NAME', 'LINKS', 'SIZE'],
    u.volumes.items.map((v) => [v.name, String(v.links), humanSize(v.size)]),
  );
  return `Images space usage:\n\n${images}\nContainers space usage:\n\n${containers}\nLocal Volumes space usage:\n\n${volumes}\nBuild cache usage: 0B\n\n${table(['CACHE ID', 'CACHE TYPE', 'SIZE', 'CREATED', 'LAST USED', 'USAGE', 'SHARED'], [])}`;
}

const df = command({
  name: 'system df',
  summary: 'Show berth disk usage: images (shared layers once), write layers of containers, local volumes.',
  flags: [
    { name: '--verbose', short: 'v', kind: 'boolean', help: 'Show detailed information on space usage' },
    { name: '--format', kind: 'string', value: 'FORMAT', help: 'json: one object per type, as docker prints them' },
  ],
  async run(args, global): Promise<number> {
    positionals(df, args, 0);
    if (args.format !== undefined && args.format !== 'json' && args.format !== '{{json .}}') throw invalid('--format', 'json', args.format);
    const usage = await new Berth(global).systemDf();
    if (args.format !== undefined) {
      const rows: Array<[string, UsageRow, boolean]> = [
        ['Images', usage.images, true],
        ['Containers', usage.containers, true],
        ['Local Volumes', usage.volumes, true],
        ['Build Cache', usage.buildCache, false],
      ];
      for (const [type, r, percent] of rows)
        writeStdout(
          `${JSON.stringify({ Type: type, TotalCount: String(r.total), Active: String(r.active), Size: humanSize(r.size), Reclaimable: reclaimableText(r, percent) })}\n`,
        );
    } else writeStdout(args.verbose ? verboseText(usage) : summaryTable(usage));
    return 0;
  },
});

export default df;
