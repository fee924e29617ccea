import { familiar } from '../image/reference';
import type { PullEvent } from '../image/pull';
import { Berth } from '../index';
import { positionals, type Command } from './command';

const pull: Command = {
  usage: 'pull [OPTIONS] NAME[:TAG|@DIGEST]',
  summary: 'Download an image from a registry.',
  help: `  -q, --quiet                   Print only the image name
      --platform OS/ARCH        Pick this platform from a multi-platform image (default: the host's)
      --insecure-registry HOST  Allow plain http to HOST (localhost and 127.0.0.0/8 are always allowed)`,
  spec: { '--quiet': Boolean, '-q': '--quiet', '--platform': String, '--insecure-registry': [String] },
  async run(args, global) {
    const [ref] = positionals(pull, args, 1);
    const quiet = !!args['--quiet'];
    const say = (line: string): void => {
      if (!quiet) process.stdout.write(`${line}\n`);
    };
    const result = await new Berth(global).pullImage(ref, {
      platform: args['--platform'],
      insecureRegistries: args['--insecure-registry'],
      // One line per layer as it completes; progress bars on a terminal are not done yet.
      onProgress: (e: PullEvent) => {
        if (e.type === 'resolved') say(`Pulling ${familiar(e.name)}`);
        else if (e.status === 'done') say(`${short(e.digest)} done`);
        else if (e.status === 'exists') say(`${short(e.digest)} already exists`);
      },
    });
    say(`Digest: ${result.digest}`);
    say(result.upToDate ? `Status: Image is up to date for ${familiar(result.name)}` : `Status: Downloaded newer image for ${familiar(result.name)}`);
    process.stdout.write(`${result.name}\n`);
    return 0;
  },
};

function short(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}

export default pull;
