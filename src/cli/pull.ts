import { familiar } from '../image/reference';
import type { PullEvent } from '../image/registry/pull';
import { Berth } from '../index';
import { command, positionals } from './command';
import type { Flag } from './flags';

/** Shared with login: a registry of one's own is often plain http. */
export const INSECURE_REGISTRY_FLAG = {
  name: '--insecure-registry',
  kind: 'strings',
  value: 'HOST',
  help: 'Allow plain http to HOST (localhost and 127.0.0.0/8 are always allowed)',
} as const satisfies Flag;

const pull = command({
  name: 'pull',
  operands: 'NAME[:TAG|@DIGEST]',
  summary: 'Download an image from a registry.',
  flags: [
    { name: '--quiet', short: 'q', kind: 'boolean', help: 'Suppress verbose output: print only the image name' },
    { name: '--platform', kind: 'string', value: 'OS/ARCH', help: "Set platform if the image is multi-platform (default: the host's)" },
    INSECURE_REGISTRY_FLAG,
  ],
  async run(args, global): Promise<number> {
    const [ref] = positionals(pull, args, 1);
    const quiet = args.quiet;
    const say = (line: string): void => {
      if (!quiet) process.stdout.write(`${line}\n`);
    };
    // A bar per layer on a terminal; one line per finished layer otherwise (logs, CI).
    const bars = !quiet && process.stdout.isTTY ? new LayerBars() : undefined;
    let result;
    try {
      result = await new Berth(global).pullImage(ref, {
        platform: args.platform,
        insecureRegistries: args.insecureRegistry,
        onProgress: (e: PullEvent) => {
          if (e.type === 'resolved') say(`Pulling ${familiar(e.name)}`);
          else if (bars) bars.update(e.digest, e.status, e.current, e.total);
          else if (e.status === 'done') say(`${short(e.digest)} done`);
          else if (e.status === 'exists') say(`${short(e.digest)} already exists`);
        },
      });
    } finally {
      bars?.stop();
    }
    say(`Digest: ${result.digest}`);
    say(
      result.upToDate
        ? `Status: Image is up to date for ${familiar(result.name)}`
        : `Status: Downloaded newer image for ${familiar(result.name)}`,
    );
    process.stdout.write(`${result.name}\n`);
    return 0;
  },
});

/** Progress bars of the layers being pulled (cli-progress, loaded only on a terminal). */
class LayerBars {
  private readonly multi: import('cli-progress').MultiBar;
  private readonly bars = new Map<string, import('cli-progress').SingleBar>();

  constructor() {
    const progress = require('cli-progress') as typeof import('cli-progress');
    this.multi = new progress.MultiBar(
      { format: '{layer} [{bar}] {size} {status}', barsize: 30, hideCursor: true, clearOnComplete: false, autopadding: true },
      progress.Presets.shades_classic,
    );
  }

  update(digest: string, status: string, current: number | undefined, total: number): void {
    let bar = this.bars.get(digest);
    if (!bar) {
      bar = this.multi.create(Math.max(total, 1), 0, { layer: short(digest), size: '', status });
      this.bars.set(digest, bar);
    }
    const value =
      status === 'downloading'
        ? (current ?? 0)
        : status === 'exists' || status === 'done' || status === 'verified' || status === 'extracting'
          ? Math.max(total, 1)
          : 0;
    bar.update(value, { status: status === 'exists' ? 'already exists' : status, size: `${mb(value)}/${mb(total)} MB` });
  }

  stop(): void {
    this.multi.stop();
  }
}

const mb = (n: number) => (n / 1e6).toFixed(1);

function short(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}

export default pull;
