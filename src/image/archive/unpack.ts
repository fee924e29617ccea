import * as fs from 'node:fs';
import * as path from 'node:path';
// Loaded on first use: `berth run` reads the store but never needs node:crypto, and loading it costs
// milliseconds on every start.
const crypto = (): typeof import('node:crypto') => require('node:crypto');
import { Readable } from 'node:stream';
import { BerthError } from '../../errors';
import { uncompressed } from './compression';
import { LayerWriter, type LayerWriterOptions } from './layer-writer';
import { tarEntries } from './tar-entries';
import { quote } from '../../util/quote';

interface UnpackResult {
  /** Bytes of regular file content. */
  size: number;
  /** Entries skipped on purpose (e.g. device nodes when not root). */
  notes: string[];
}

/** Open a tar file for reading, with an error that names the path (a stream would only fail later, and vaguely). */
export async function openArchive(file: string, what = 'layer archive'): Promise<Readable> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (e) {
    throw new BerthError('INVALID_ARGUMENT', `Cannot read the ${what} ${quote(file)}`, { cause: e });
  }
  const st = await fh.stat();
  if (st.isDirectory()) {
    await fh.close();
    throw new BerthError('INVALID_ARGUMENT', `Expected a tar file for the ${what} but ${quote(file)} is a directory`);
  }
  return fh.createReadStream({ highWaterMark: 1 << 20 });
}

/**
 * Unpack a layer tar (plain or gzip) into `targetDir`, which must not exist yet (an empty directory is
 * replaced). All of it or nothing: the entries are written into a sibling staging directory that is renamed
 * into place at the end and removed on any failure, so a refused or broken archive leaves no trace.
 */
export async function unpackLayer(source: string | Readable, targetDir: string, opts: LayerWriterOptions = {}): Promise<UnpackResult> {
  const target = path.resolve(targetDir);
  const staging = path.join(path.dirname(target), `.${path.basename(target)}.unpack-${crypto().randomBytes(6).toString('hex')}`);
  const input = typeof source === 'string' ? await openArchive(source) : source;
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.mkdirSync(staging, 0o700);
  } catch (e) {
    input.destroy();
    throw e;
  }
  let writer: LayerWriter | undefined;
  try {
    writer = new LayerWriter(staging, opts);
    for await (const entry of tarEntries(uncompressed(input, 'layer archive'))) {
      try {
        await writer.write(entry);
      } catch (e) {
        if (e instanceof BerthError) throw e;
        throw new BerthError('INTERNAL', `Cannot unpack layer entry ${quote(entry.path)}`, { cause: e });
      }
    }
    await writer.finish();
    fs.renameSync(staging, target);
    return { size: writer.size, notes: writer.notes };
  } catch (e) {
    await writer?.abandon();
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}
