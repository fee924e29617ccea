/**
 * Network namespaces of sandboxes: each is pinned by a bind mount at <runRoot>/netns/<container id>
 * (as `ip netns add` and podman do), made by the native addon before the container's process exists.
 * Also the scratch namespace a DEL needs when a sandbox's pin was lost.
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../native';
import { findTool } from './cni';

const childProcess = (): typeof import('node:child_process') => require('node:child_process');

/** Whether path is a mounted network namespace (an nsfs mount), not the empty file under it. */
export function isPinned(p: string): boolean {
  try {
    return fs.statSync(p).dev !== fs.statSync(path.dirname(p)).dev;
  } catch {
    return false;
  }
}

/** Container ids with something at <dir>/<id>: pinned namespaces, or the files of ones half made. */
export function pinnedContainerIds(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((f) => /^[0-9a-f]{64}$/.test(f));
  } catch {
    return [];
  }
}

/**
 * For a DEL whose container namespace is gone: a scratch network namespace, held by a `sleep` started
 * with unshare, with a veth named `ifname` carrying the recorded `address` (IP/prefix). The plugins
 * run on the host as usual with CNI_NETNS pointing there; the bridge plugin finds the interface,
 * deletes it and, back on the host, removes the masquerading rule of that address. Without unshare
 * or ip (util-linux, iproute2): fn gets '' (a DEL without a namespace), which releases the address
 * and the port mappings but leaves the masquerading rule.
 */
export function withScratchNetns(ifname: string, address: string, fn: (netns: string) => void): void {
  const unshare = findTool('unshare');
  const ip = findTool('ip');
  if (!unshare || !ip) return fn('');
  const [readEnd, writeEnd] = native().pipe();
  let holder: ChildProcess | undefined;
  try {
    const script = '"$0" link add "$1" type veth peer name "$1-peer" && "$0" addr add "$2" dev "$1" && echo ready && exec sleep 300';
    holder = childProcess().spawn(unshare, ['--net', '--', '/bin/sh', '-c', script, ip, ifname, address], {
      stdio: ['ignore', writeEnd, 'ignore'],
    });
    fs.closeSync(writeEnd);
    const buf = Buffer.alloc(16);
    let got = '';
    for (let r; !got.includes('\n') && (r = fs.readSync(readEnd, buf, 0, buf.length, null)) > 0;) got += buf.toString('utf8', 0, r);
    fn(got.startsWith('ready') && holder.pid ? `/proc/${holder.pid}/ns/net` : '');
  } finally {
    fs.closeSync(readEnd);
    holder?.kill('SIGKILL');
    holder?.unref();
  }
}
