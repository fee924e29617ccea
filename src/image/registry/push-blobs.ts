/**
 * One blob to a registry, as the distribution spec's push section has it: HEAD first (the registry may have
 * it already), a cross-repository mount when another repository of the same registry may hold it, else an
 * upload session (POST), the bytes streamed into it (PATCH, as docker sends them) and the session closed
 * with the digest (PUT ?digest=), which the registry checks against what it received.
 */
import * as fs from 'node:fs';
import { BerthError } from '../../errors';
import type { Descriptor } from '../oci';
import type { RegistryClient } from './client';
import { RegistryError, registryMessage } from './errors';
import { quote } from '../../util/quote';

export type BlobOutcome = { kind: 'exists' } | { kind: 'mounted'; from: string } | { kind: 'pushed' };

export interface BlobUpload {
  client: RegistryClient;
  /** The repository pushed to, inside the registry: "busybox", "team/app". */
  repository: string;
  descriptor: Descriptor;
  /** The local file holding the blob's bytes. */
  file: string;
  /** Other repositories of the registry that may hold the blob, tried as mount sources in order. */
  mountFrom?: string[];
  /** Called with the bytes handed to the connection so far, once the upload proper starts. */
  onBytes?: (sent: number) => void;
}

/** Bytes read from the file per chunk of the upload: big enough for throughput, small enough for progress. */
const CHUNK = 1 << 20;

export async function pushBlob(u: BlobUpload): Promise<BlobOutcome> {
  const { client, repository, descriptor: d } = u;
  const what = `blob ${d.digest} of ${client.registry}/${repository}`;
  const head = await client.request(repository, `blobs/${d.digest}`, {}, what, { method: 'HEAD' });
  if (head.ok) return { kind: 'exists' };
  if (head.status !== 404) throw await refusal(client, head, repository, what);

  let location: string | undefined;
  for (const from of u.mountFrom ?? []) {
    const query = `?mount=${encodeURIComponent(d.digest)}&from=${encodeURIComponent(from)}`;
    const res = await client.request(repository, `blobs/uploads/${query}`, {}, what, { method: 'POST' });
    await res.body?.cancel();
    if (res.status === 201) return { kind: 'mounted', from };
    // A registry that cannot mount (no such blob there, no access) opens an ordinary upload instead.
    if (res.status === 202 && res.headers.get('location')) {
      location = res.headers.get('location')!;
      break;
    }
  }
  if (!location) location = await startUpload(client, repository, what);

  u.onBytes?.(0);
  const patched = await client.request(
    repository,
    location,
    { 'content-type': 'application/octet-stream', 'content-length': String(d.size) },
    what,
    { method: 'PATCH', body: (touch) => fileBody(u.file, touch, u.onBytes) },
  );
  if (patched.status !== 202 && patched.status !== 204) throw await refusal(client, patched, repository, what);
  await patched.body?.cancel();
  const next = patched.headers.get('location') ?? location;

  const put = await client.request(repository, withDigest(next, d.digest), { 'content-length': '0' }, what, { method: 'PUT' });
  if (put.status !== 201 && put.status !== 204) throw await refusal(client, put, repository, what);
  await put.body?.cancel();
  const stored = put.headers.get('docker-content-digest');
  if (stored && stored !== d.digest) {
    throw new BerthError(
      'DIGEST_MISMATCH',
      `The registry ${client.registry} stored ${what} as ${stored}: the upload was altered on the way; push again`,
    );
  }
  return { kind: 'pushed' };
}

async function startUpload(client: RegistryClient, repository: string, what: string): Promise<string> {
  const res = await client.request(repository, 'blobs/uploads/', { 'content-length': '0' }, what, { method: 'POST' });
  if (res.status !== 202) throw await refusal(client, res, repository, what);
  await res.body?.cancel();
  const location = res.headers.get('location');
  if (!location) throw new RegistryError('protocol', `The registry ${client.registry} opened an upload for ${what} without a Location`);
  return location;
}

/** The upload URL with `digest=` added; the registry's own query (its upload state) stays as it is. */
export function withDigest(location: string, digest: string): string {
  const hash = location.indexOf('#');
  const base = hash === -1 ? location : location.slice(0, hash);
  return `${base}${base.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

/**
 * The file as a request body, read as the connection takes it: every chunk restarts the connect timeout
 * (a registry that stops reading fails the push) and reports the bytes handed over.
 */
function fileBody(file: string, touch: () => void, onBytes?: (sent: number) => void): ReadableStream<Uint8Array> {
  let handle: fs.promises.FileHandle | undefined;
  let sent = 0;
  const close = async () => {
    await handle?.close();
    handle = undefined;
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          handle ??= await fs.promises.open(file, 'r');
          const { bytesRead, buffer } = await handle.read(Buffer.alloc(CHUNK), 0, CHUNK, sent);
          if (bytesRead === 0) {
            await close();
            controller.close();
            return;
          }
          sent += bytesRead;
          touch();
          onBytes?.(sent);
          controller.enqueue(buffer.subarray(0, bytesRead));
        } catch (e) {
          await close().catch(() => {});
          controller.error(e);
        }
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
}

/**
 * A refused or failed request of a push, in the push's words: a 401/403 says to log in (or that the
 * credentials lack push access), anything else says what the registry answered.
 */
export async function refusal(client: RegistryClient, res: Response, repository: string, what: string): Promise<RegistryError> {
  if (res.status !== 401 && res.status !== 403) return client.responseError(res, what);
  const detail = await registryMessage(res);
  return new RegistryError(
    res.status === 401 ? 'unauthorized' : 'denied',
    `The registry ${client.registry} refused to let berth push to ${repository} (${res.status}${detail ? ` ${quote(detail)}` : ''}): ` +
      `log in with \`berth login ${client.registry}\` as a user who may push there`,
    { status: res.status },
  );
}
