import * as fs from 'node:fs';

/** 64 hex digits from the kernel's CSPRNG, read directly: node:crypto costs ~2 ms to load, and this
 *  is on the start path of every container. */
export function randomHexId(): string {
  const buf = Buffer.alloc(32);
  const fd = fs.openSync('/dev/urandom', 'r');
  try {
    fs.readSync(fd, buf, 0, 32, null);
  } finally {
    fs.closeSync(fd);
  }
  return buf.toString('hex');
}
