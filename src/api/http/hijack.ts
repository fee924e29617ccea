/**
 * Hijacked connections (attach, exec start): after the response head, the connection carries the
 * process's stdin one way and its output the other. The docker CLI asks with `Upgrade: tcp` and
 * gets 101 and a raw socket; a client without the upgrade (dockerode's default) gets a 200 whose
 * body is the output stream. Without a tty, output is multiplexed as docker's stdcopy frames it:
 * 8 bytes [stream, 0, 0, 0, size as 4 bytes big-endian], then the payload.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { Ctx } from './context';

export const STREAM = { stdin: 0, stdout: 1, stderr: 2 } as const;

export function stdcopyFrame(stream: 1 | 2, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

export interface Hijacked {
  /** What the client sends (the process's stdin); ends when the client half-closes. */
  readonly input: Readable;
  /** Output: framed unless the process has a tty. */
  output(stream: 1 | 2, data: Buffer): void;
  /** Ends the stream (the process exited, or the service stops). */
  end(): void;
  /** Resolves when the client's side of the connection is gone. */
  readonly gone: Promise<void>;
}

/** Takes over the request's connection; `tty` decides whether output is framed. */
export function hijack(ctx: Ctx, tty: boolean): Hijacked {
  const multiplexed = !tty;
  const contentType =
    multiplexed && ctx.version >= 1042 ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
  const frame = (stream: 1 | 2, data: Buffer) => (multiplexed ? stdcopyFrame(stream, data) : data);
  if (ctx.upgrade) {
    const { socket, head } = ctx.upgrade;
    ctx.res.detachSocket(socket as never);
    ctx.res.statusCode = 101; // for the request log
    socket.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: ${ctx.res.getHeader('Api-Version') as string}\r\n\r\n`,
    );
    const input = new PassThrough();
    if (head.length) input.write(head);
    socket.pipe(input);
    let ended = false;
    const gone = new Promise<void>((resolve) =>
      socket.once('close', () => {
        ended = true;
        // the request is over for the service's bookkeeping (in flight, the log line)
        ctx.res.emit('close');
        resolve();
      }),
    );
    return {
      input,
      output: (stream, data) => {
        if (!ended && socket.writable) socket.write(frame(stream, data));
      },
      end: () => {
        if (ended) return;
        ended = true;
        socket.end();
        // a client that never reads must not hold the connection open forever
        setTimeout(() => socket.destroy(), 2000).unref();
      },
      gone,
    };
  }
  ctx.res.writeHead(200, { 'Content-Type': contentType });
  ctx.res.flushHeaders();
  const gone = new Promise<void>((resolve) => ctx.res.once('close', () => resolve()));
  return {
    input: ctx.req,
    output: (stream, data) => {
      if (!ctx.res.writableEnded) ctx.res.write(frame(stream, data));
    },
    end: () => {
      if (!ctx.res.writableEnded) ctx.res.end();
    },
    gone,
  };
}
