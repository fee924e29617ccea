import { Berth } from '../index';
import type { SystemPruneResult } from '../system/prune';
import { command, humanSize, positionals } from './command';
import { writeStdout } from './write';

/** What docker system prune prints: each kind of thing deleted, then the bytes freed. */
export function pruneText(r: SystemPruneResult): string {
  const section = (title: string, lines: string[]) => (lines.length ? `${title}:\n${lines.join('\n')}\n\n` : '');
  return (
    section('Deleted Containers', r.containers) +
    section('Deleted Networks', r.networks) +
    section('Deleted Volumes', r.volumes) +
    section('Deleted Images', [...r.images.untagged.map((n) => `untagged: ${n}`), ...r.images.deleted.map((d) => `deleted: ${d}`)]) +
    `Total reclaimed space: ${humanSize(r.reclaimed)}\n`
  );
}

const prune = command({
  name: 'system prune',
  summary: 'Remove stopped containers, networks no container uses, dangling images (and with --volumes unused anonymous volumes).',
  // berth never prompts; -f is accepted as docker accepts it, so that docker's scripts run
  flags: [
    { name: '--all', short: 'a', kind: 'boolean', help: 'Remove every image no container uses, not only dangling ones' },
    { name: '--volumes', kind: 'boolean', help: 'Prune anonymous volumes no container uses' },
    { name: '--force', short: 'f', kind: 'boolean', help: 'Do not prompt for confirmation (berth never prompts)' },
  ],
  async run(args, global): Promise<number> {
    positionals(prune, args, 0);
    const r = await new Berth(global).systemPrune({ all: !!args.all, volumes: !!args.volumes });
    writeStdout(pruneText(r));
    return 0;
  },
});

export default prune;
