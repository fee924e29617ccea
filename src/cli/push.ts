import { BerthError } from '../errors';
import { familiar, parseReference } from '../image/reference';
import type { PushEvent } from '../image/registry/push-options';
import { Berth } from '../index';
import { quote } from '../util/quote';
import { command, positionals } from './command';
import { INSECURE_REGISTRY_FLAG } from './pull';

const push = command({
  name: 'push',
  operands: 'NAME[:TAG]',
  summary: 'Upload an image to a registry.',
  notes:
    'The name says where to: 127.0.0.1:5000/app:1 goes to the registry 127.0.0.1:5000 (name an image so with berth tag).\n' +
    'Credentials are those of berth login for that registry.',
  flags: [
    { name: '--all-tags', short: 'a', kind: 'boolean', help: 'Push all tags of the repository' },
    { name: '--quiet', short: 'q', kind: 'boolean', help: 'Suppress verbose output' },
    INSECURE_REGISTRY_FLAG,
  ],
  async run(args, global): Promise<number> {
    const [ref] = positionals(push, args, 1);
    const berth = new Berth(global);
    const quiet = args.quiet;
    const say = (line: string): void => {
      if (!quiet) process.stdout.write(`${line}\n`);
    };
    const refs = args.allTags ? repositoryTags(berth, ref) : [ref];
    let headed = false;
    for (const one of refs) {
      // A bar per layer on a terminal; a line per layer's change otherwise (logs, CI), as docker prints them.
      const bars = !quiet && process.stdout.isTTY ? new PushBars() : undefined;
      let result;
      try {
        result = await berth.pushImage(one, {
          insecureRegistries: args.insecureRegistry,
          onProgress: (e: PushEvent) => {
            if (e.type === 'resolved') {
              // once the image is known to exist: an unknown name is then the only line
              if (!headed) say(`The push refers to repository [${e.repository}]`);
              headed = true;
            } else if (bars) bars.update(e);
            else if (e.status !== 'pushing') say(`${layerId(e.diffId)}: ${layerStatus(e)}`);
          },
        });
      } finally {
        bars?.stop();
      }
      say(`${result.tag}: digest: ${result.digest} size: ${result.size}`);
      if (quiet) process.stdout.write(`${familiar(result.name)}\n`);
    }
    return 0;
  },
});

/** docker's short layer ID: the diff ID's first 12 hex digits. */
export function layerId(diffId: string): string {
  return diffId.replace(/^sha256:/, '').slice(0, 12);
}

/** A layer's state in docker's words. */
export function layerStatus(e: Extract<PushEvent, { type: 'layer' }>): string {
  switch (e.status) {
    case 'preparing':
      return 'Preparing';
    case 'exists':
      return 'Layer already exists';
    case 'mounted':
      return `Mounted from ${e.from}`;
    case 'pushing':
      return 'Pushing';
    case 'pushed':
      return 'Pushed';
  }
}

/** `push -a`: every local tag of the repository `ref` names (a tag in `ref` itself is refused, as docker does). */
function repositoryTags(berth: Berth, ref: string): string[] {
  const r = parseReference(ref);
  if (/:[\w][\w.-]*$/.test(ref.slice(ref.lastIndexOf('/') + 1)) || r.digest) {
    throw new BerthError('INVALID_ARGUMENT', `--all-tags takes a repository without a tag or digest, not ${quote(ref)}`);
  }
  const prefix = `${r.registry}/${r.repository}:`;
  const names = berth
    .listImages()
    .flatMap((i) => i.names)
    .filter((n) => n.startsWith(prefix))
    .sort();
  if (names.length === 0) {
    throw new BerthError(
      'IMAGE_NOT_FOUND',
      `No image is tagged in the repository ${r.registry}/${r.repository}; name one with berth tag first`,
    );
  }
  return names;
}

/** Progress bars of the layers being pushed (cli-progress, loaded only on a terminal), as pull shows them. */
class PushBars {
  private readonly multi: import('cli-progress').MultiBar;
  private readonly bars = new Map<string, import('cli-progress').SingleBar>();

  constructor() {
    const progress = require('cli-progress') as typeof import('cli-progress');
    this.multi = new progress.MultiBar(
      { format: '{layer}: [{bar}] {size} {status}', barsize: 30, hideCursor: true, clearOnComplete: false, autopadding: true },
      progress.Presets.shades_classic,
    );
  }

  update(e: Extract<PushEvent, { type: 'layer' }>): void {
    const total = Math.max(e.total, 1);
    let bar = this.bars.get(e.digest);
    if (!bar) {
      bar = this.multi.create(total, 0, { layer: layerId(e.diffId), size: '', status: '' });
      this.bars.set(e.digest, bar);
    }
    const value = e.status === 'pushing' ? (e.current ?? 0) : e.status === 'preparing' ? 0 : total;
    bar.update(value, { status: layerStatus(e), size: `${mb(Math.min(value, e.total))}/${mb(e.total)} MB` });
  }

  stop(): void {
    this.multi.stop();
  }
}

const mb = (n: number) => (n / 1e6).toFixed(1);

export default push;
