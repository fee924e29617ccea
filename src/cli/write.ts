/** Output of the CLI without process.stdout and process.stderr: their first use builds a stream
 *  (a net.Socket for a pipe, a tty.WriteStream for a terminal), which costs 2-4 ms, a tenth of
 *  Node's own start, for a command that prints one line. A write(2) to fd 1 or 2 is what those
 *  streams do anyway on Linux (synchronously, for files, pipes and terminals alike), so the order
 *  of the output is the same whichever a command uses. A descriptor that refuses the write
 *  (non-blocking and full, closed, a reader gone) gets the rest through the stream, which reports
 *  such errors as it always did. */
import * as fs from 'node:fs';

function write(fd: 1 | 2, text: string): void {
  let buf = Buffer.from(text);
  try {
    while (buf.length > 0) buf = buf.subarray(fs.writeSync(fd, buf));
  } catch {
    (fd === 1 ? process.stdout : process.stderr).write(buf);
  }
}

export function writeStdout(text: string): void {
  write(1, text);
}

export function writeStderr(text: string): void {
  write(2, text);
}
