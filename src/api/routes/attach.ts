/**
 * POST /containers/{id}/attach: the container's output (and, with stdin=1, its input) over a
 * hijacked connection, through the shim's attach socket. A client that attaches to a container
 * that is not running yet waits for its start (the docker CLI attaches before it starts, so that
 * no output is lost): the start hands every waiting client the connection it made before the
 * process ran. docker's detach keys (ctrl-p ctrl-q by default) end the attach, not the container.
 */
import type { AttachConnection, AttachExit } from '../../runtime/attach-socket';
import { isRunning } from '../../runtime/container-predicates';
import { boolQuery, rawBody, type Ctx } from '../http/context';
import { badRequest } from '../http/errors';
import { hijack, type Hijacked } from '../http/hijack';
import { route } from '../http/router';
import { container } from './containers';

/** docker's --detach-keys: comma-separated ctrl-X or single characters, as bytes. */
export function parseDetachKeys(spec: string): Buffer {
  const bytes = spec.split(',').map((k) => {
    const ctrl = /^ctrl-(.)$/.exec(k);
    if (ctrl) {
      const ch = ctrl[1];
      if (/[a-z]/.test(ch)) return ch.charCodeAt(0) - 96;
      const special: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };
      if (ch in special) return special[ch];
    } else if (k.length === 1) return k.charCodeAt(0);
    throw badRequest(`Invalid detach keys (${spec}) provided: give ctrl-<a-z,@,[,\\,],^,_> or single characters, comma-separated`);
  });
  return Buffer.from(bytes);
}

/** Passes input on until the detach sequence is typed; the bytes of a partial match are held back
 *  and passed on once the sequence breaks. Calls onDetach when it completes. */
export function detachFilter(keys: Buffer, forward: (b: Buffer) => void, onDetach: () => void): (b: Buffer) => void {
  let matched = 0;
  return (b: Buffer) => {
    let start = 0;
    for (let i = 0; i < b.length; i++) {
      if (keys.length && b[i] === keys[matched]) {
        if (matched === 0 && i > start) forward(b.subarray(start, i));
        matched++;
        if (matched === keys.length) return onDetach();
        start = i + 1;
      } else if (matched > 0) {
        forward(keys.subarray(0, matched));
        matched = b[i] === keys[0] ? 1 : 0;
        start = matched ? i + 1 : i;
      }
    }
    if (matched === 0 && start < b.length) forward(b.subarray(start));
  };
}

/** Wires one client to a connection: output to it, its input to the container. */
function wire(
  ctx: Ctx,
  h: Hijacked,
  conn: AttachConnection,
  o: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean; keys: Buffer; id: string },
): void {
  ctx.state.connections.set(o.id, conn);
  conn.on('exit', (e: AttachExit) => ctx.state.recordExit(o.id, e));
  if (o.stdout) conn.on('stdout', (b: Buffer) => h.output(1, b));
  if (o.stderr) conn.on('stderr', (b: Buffer) => h.output(o.tty ? 1 : 2, b));
  void conn.closed.then(() => {
    if (ctx.state.connections.get(o.id) === conn) ctx.state.connections.delete(o.id);
    h.end();
  });
  if (o.stdin) {
    const onData = detachFilter(
      o.keys,
      (b) => conn.write(b),
      () => h.end(),
    );
    h.input.on('data', onData);
    h.input.on('end', () => conn.endStdin());
  }
  void h.gone.then(() => conn.close());
}

async function attach(ctx: Ctx): Promise<void> {
  const c = container(ctx);
  const id = c.config.id;
  const o = {
    stdin: boolQuery(ctx, 'stdin'),
    stdout: boolQuery(ctx, 'stdout'),
    stderr: boolQuery(ctx, 'stderr'),
    tty: c.config.tty,
    keys: parseDetachKeys(ctx.query.get('detachKeys') || 'ctrl-p,ctrl-q'),
    id,
  };
  // dockerode sends its options as a body too: read, so that it is not taken for the stdin
  if (ctx.upgrade) await rawBody(ctx);
  const stream = boolQuery(ctx, 'stream');
  const withLogs = boolQuery(ctx, 'logs');
  const h = hijack(ctx, c.config.tty);
  const unregister = ctx.state.onClose(() => h.end());
  void h.gone.then(unregister);
  if (withLogs) {
    for await (const e of ctx.berth.logs(id, {})) {
      if ((e.stream === 'stdout' && o.stdout) || (e.stream === 'stderr' && o.stderr))
        h.output(e.stream === 'stdout' || o.tty ? 1 : 2, Buffer.from(e.log));
    }
  }
  if (!stream) return h.end();
  if (isRunning(c.state)) {
    const conn = await ctx.berth.attach(id);
    wire(ctx, h, conn, o);
    conn.resume();
    return;
  }
  // not running: the next start connects it (containers.ts startWithAttaches)
  const pending = {
    closed: false,
    stdinOnce: ctx.state.created.get(id)?.stdinOnce ?? false,
    onConnection: (conn: AttachConnection) => wire(ctx, h, conn, o),
  };
  ctx.state.addAttach(id, pending);
  void h.gone.then(() => (pending.closed = true));
}

export const ATTACH_ROUTES = [route('POST', '/containers/{id}/attach', attach)];
