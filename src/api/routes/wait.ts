/**
 * POST /containers/{id}/wait with docker's conditions: not-running (now, if it is not running),
 * next-exit (the first exit after the request), removed (gone from the store, --rm's end). The
 * response head is sent once the condition's starting point is taken, as dockerd does: the docker
 * CLI waits for it before it starts the container, so that a quick exit is never missed. The exit
 * code comes from the state; an --rm container's shim may remove the state before it is seen, so
 * the exit its attach socket reports is used too, and that exit frame also ends the wait at once
 * instead of at the next poll.
 */
import { BerthError } from '../../errors';
import { hasExited, isRunning } from '../../runtime/container-predicates';
import type { AttachExit } from '../../runtime/attach-socket';
import type { ContainerInfo } from '../../runtime/types';
import type { Ctx } from '../http/context';

const POLL_MS = 20;

type Condition = 'not-running' | 'next-exit' | 'removed';

function read(ctx: Ctx, id: string): ContainerInfo | undefined {
  try {
    return ctx.berth.inspect(id);
  } catch (e) {
    if (e instanceof BerthError && e.code === 'CONTAINER_NOT_FOUND') return undefined;
    throw e;
  }
}

/** Listens on the container's attach socket for its exit: now if it runs, at its start if not. */
function watchExit(ctx: Ctx, c: ContainerInfo, onExit: (e: AttachExit) => void): void {
  const id = c.config.id;
  const use = (conn: import('../../runtime/attach-socket').AttachConnection) => {
    conn.on('exit', onExit);
    conn.on('stdout', () => {});
    conn.on('stderr', () => {});
  };
  if (isRunning(c.state)) {
    // Berth.attach throws at once for a container that stopped meanwhile: then the poll decides
    Promise.resolve()
      .then(() => ctx.berth.attach(id))
      .then(
        (conn) => {
          use(conn);
          conn.resume();
          ctx.res.once('close', () => conn.close());
        },
        () => {},
      );
  } else {
    const pending = { closed: false, stdinOnce: false, onConnection: use };
    ctx.state.addAttach(id, pending);
    ctx.res.once('close', () => (pending.closed = true));
  }
}

export async function waitFor(ctx: Ctx, first: ContainerInfo, condition: Condition): Promise<void> {
  const id = first.config.id;
  const startFinished = first.state.finishedAt;
  let socketExit: AttachExit | undefined;
  // the shim's exit frame ends the wait at once; the state poll is what decides (and the fallback)
  let wake: () => void = () => {};
  const waits = isRunning(first.state) || (condition !== 'not-running' && first.state.status === 'created') || condition === 'removed';
  if (waits)
    watchExit(ctx, first, (e) => {
      socketExit = e;
      wake();
    });
  ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
  ctx.res.flushHeaders();
  let gone = false;
  ctx.res.once('close', () => (gone = true));
  const unregister = ctx.state.onClose(() => ctx.res.destroy());
  let last: ContainerInfo | undefined = first;
  try {
    for (;;) {
      const c = read(ctx, id);
      if (c) last = c;
      const exitedNow = c !== undefined && !isRunning(c.state) && c.state.status !== 'created';
      const done =
        condition === 'removed'
          ? c === undefined
          : condition === 'not-running'
            ? c === undefined || !isRunning(c.state)
            : c === undefined || (exitedNow && c.state.finishedAt !== startFinished);
      if (done) break;
      if (gone) return;
      // after the exit frame the shim's state write follows within milliseconds
      await new Promise<void>((r) => {
        const timer = setTimeout(r, socketExit ? 2 : POLL_MS);
        wake = () => {
          clearTimeout(timer);
          r();
        };
      });
    }
  } finally {
    unregister();
  }
  const seen = socketExit ?? ctx.state.exits.get(id);
  const code = seen?.exitCode ?? (last && hasExited(last.state) ? (last.state.exitCode ?? 0) : 0);
  const error = last?.state.error;
  ctx.res.end(JSON.stringify({ StatusCode: code, Error: error ? { Message: error } : null }));
}
