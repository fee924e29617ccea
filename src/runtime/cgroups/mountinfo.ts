import * as fs from 'node:fs';

export interface MountInfoEntry {
  mountPoint: string;
  root: string;
  fstype: string;
  source: string;
  superOptions: string[];
}

/** Parses /proc/self/mountinfo (proc(5)); octal escapes in paths are decoded. */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    out.push({
      root: unescape(left[3]),
      mountPoint: unescape(left[4]),
      fstype: right[0],
      source: right[1],
      superOptions: (right[2] ?? '').split(','),
    });
  }
  return out;
}

export function readMountInfo(file = '/proc/self/mountinfo'): MountInfoEntry[] {
  return parseMountInfo(fs.readFileSync(file, 'utf8'));
}
