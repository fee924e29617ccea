import { inspectJson } from '../api/docker/container-json';
import { imageInspectJson } from '../api/docker/image-json';
import { findNetwork, networkJson, type ApiNetwork } from '../api/docker/network-json';
import { BerthError } from '../errors';
import { Berth } from '../index';
import { command, positionals } from './command';
import { formatInspect } from './format/formatter';
import { writeStderr, writeStdout } from './write';

type Kind = 'container' | 'image' | 'volume' | 'network';

/** docker's lookup order without --type. */
const KINDS: Kind[] = ['container', 'image', 'volume', 'network'];

/** The lookup failed because there is no such object (any other failure is reported as it is). */
class NotFound extends Error {}

/** A container in docker's inspect schema, berth's own facts under `Berth`. */
function containerDocument(berth: Berth, ref: string): Record<string, unknown> {
  let c;
  try {
    c = berth.inspect(ref);
  } catch (e) {
    if (e instanceof BerthError && e.code === 'CONTAINER_NOT_FOUND') throw new NotFound();
    throw e;
  }
  let image: { Entrypoint?: string[] | null; Cmd?: string[] | null } | undefined;
  try {
    image = (berth.inspectImage(c.config.imageId).config as { config?: typeof image }).config;
  } catch {
    image = undefined; // the image was removed: inspect shows the container all the same
  }
  return {
    ...inspectJson(c, image),
    Berth: {
      cgroupPaths: berth.runtime.cgroupsOf(c.config).dirs(c.config.id),
      stateDir: berth.runtime.store.containerDir(c.config.id),
      ociConfig: c.ociConfig,
    },
  };
}

function imageDocument(berth: Berth, ref: string): Record<string, unknown> {
  let image;
  try {
    image = berth.images.resolve(ref);
  } catch (e) {
    if (e instanceof BerthError && e.code === 'IMAGE_NOT_FOUND') throw new NotFound();
    throw e;
  }
  let dirs: string[] = [];
  try {
    dirs = berth.images.layerDirs(image);
  } catch {
    dirs = []; // a layer missing from the store: the rest is still worth showing
  }
  return imageInspectJson(berth.inspectImage(image.id), dirs);
}

function volumeDocument(berth: Berth, ref: string): Record<string, unknown> {
  try {
    return { ...berth.inspectVolume(ref) };
  } catch (e) {
    if (e instanceof BerthError && e.code === 'VOLUME_NOT_FOUND') throw new NotFound();
    throw e;
  }
}

/** A network in docker's schema (berth's default network answers as `bridge`, as through the API). */
function networkDocument(berth: Berth, ref: string): Record<string, unknown> {
  const networks: ApiNetwork[] = [
    ...berth.listNetworks().map((info): ApiNetwork => ({ kind: 'berth', info })),
    { kind: 'mode', name: 'host' },
    { kind: 'mode', name: 'none' },
  ];
  let n: ApiNetwork;
  try {
    n = findNetwork(networks, ref);
  } catch {
    throw new NotFound();
  }
  const members = n.kind === 'berth' ? berth.inspectNetwork(n.info.name).containers : [];
  return { ...networkJson(n, members) };
}

const DOCUMENTS: Record<Kind, (berth: Berth, ref: string) => Record<string, unknown>> = {
  container: containerDocument,
  image: imageDocument,
  volume: volumeDocument,
  network: networkDocument,
};

function lookup(berth: Berth, ref: string, kinds: Kind[]): Record<string, unknown> | undefined {
  for (const kind of kinds) {
    try {
      return DOCUMENTS[kind](berth, ref);
    } catch (e) {
      if (!(e instanceof NotFound)) throw e;
    }
  }
  return undefined;
}

const inspect = command({
  name: 'inspect',
  operands: 'NAME|ID [NAME|ID...]',
  summary:
    "Show containers, images, volumes or networks as docker's inspect JSON (berth's cgroup paths, state dir and OCI config under Berth).",
  flags: [
    {
      name: '--format',
      short: 'f',
      kind: 'string',
      value: 'FORMAT',
      help: 'Format output with a Go template ({{.State.Pid}}, {{json .Config.Labels}}, {{.NetworkSettings.IPAddress}}), or json',
    },
    { name: '--type', kind: 'string', value: 'TYPE', help: 'Only objects of this type: container, image, volume or network' },
    { name: '--size', short: 's', kind: 'boolean', help: 'Accepted as docker accepts it; berth shows no sizes here' },
  ],
  run(args, global): number {
    const refs = positionals(inspect, args, 1, Infinity);
    const type = args.type;
    if (type !== undefined && !KINDS.includes(type as Kind))
      throw new BerthError('INVALID_ARGUMENT', `"${type}" is not a valid value for --type; give container, image, volume or network`);
    const berth = new Berth(global);
    const found: unknown[] = [];
    const missing: string[] = [];
    for (const ref of refs) {
      const doc = lookup(berth, ref, type ? [type as Kind] : KINDS);
      if (doc) found.push(JSON.parse(JSON.stringify(doc)));
      else missing.push(ref);
    }
    // the objects found are printed, then docker's one line per missing one
    if (args.format !== undefined && args.format !== '') writeStdout(formatInspect(args.format, found));
    else writeStdout(`${JSON.stringify(found, null, 4)}\n`);
    for (const ref of missing) writeStderr(`Error: No such ${type ?? 'object'}: ${ref}\n`);
    return missing.length > 0 ? 125 : 0;
  },
});

export default inspect;
