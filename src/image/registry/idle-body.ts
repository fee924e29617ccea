/**
 * `body`, failing with onIdle()'s error when a read waits `ms` for bytes. The clock runs only while the
 * consumer waits (highWaterMark 0: nothing is read ahead), so a slow consumer never counts as a stalled
 * registry.
 */
export function idleTimed(body: ReadableStream<Uint8Array>, ms: number, onIdle: () => Error): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let timer: NodeJS.Timeout | undefined;
        const silence = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(onIdle()), ms);
        });
        try {
          const r = await Promise.race([reader.read(), silence]);
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        } catch (e) {
          controller.error(e);
          reader.cancel(e).catch(() => {});
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
