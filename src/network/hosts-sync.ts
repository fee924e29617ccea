/**
 * Containers on a user network reach each other by name: the /etc/hosts of every live member is
 * rewritten whenever a container joins or leaves one of its networks. The caller holds the
 * network's lock (network-locks.ts), so two rewrites of one network never interleave.
 */
import * as fs from 'node:fs';
import { hostsContent } from './hosts';
import { DEFAULT_NETWORK } from './networks';
import { ownerAlive, type AttachmentRecord, type SandboxRecords } from './sandbox-records';
import type { HostEntry } from './types';

/** Rewrites /etc/hosts of every live container of the network, in place (the file is bind-mounted:
 *  its inode must stay). */
export function syncHostsFiles(records: SandboxRecords, network: string): void {
  const live = records.list().filter(ownerAlive);
  for (const member of live.filter((r) => r.attachments.some((a) => a.network === network))) {
    const primary = member.attachments.find((a) => a.endpoint.ip);
    if (!primary) continue;
    const e = primary.endpoint;
    rewriteInPlace(
      member.hostsFile,
      hostsContent({
        hostname: member.hostname,
        name: member.name,
        ip: e.ip,
        extra: member.addHosts,
        gateway: e.gateway,
        peers: peersOf(member, live),
      }),
    );
  }
}

/** The other containers `member` shares a user network with, by name, each once (its address on
 *  the first network they share). The default network, as docker's, gives no name resolution. */
export function peersOf(member: AttachmentRecord, live: AttachmentRecord[]): HostEntry[] {
  const peers: HostEntry[] = [];
  for (const a of member.attachments.filter((x) => x.network !== DEFAULT_NETWORK && x.endpoint.ip)) {
    for (const p of live) {
      const theirs = p.containerId !== member.containerId ? p.attachments.find((x) => x.network === a.network && x.endpoint.ip) : undefined;
      if (theirs && !peers.some((e) => e.host === p.name)) peers.push({ host: p.name, ip: theirs.endpoint.ip });
      // docker's --network-alias: scoped to the network it was given for, the primary one
      if (theirs && p.attachments[0] === theirs)
        for (const alias of p.aliases ?? []) if (!peers.some((e) => e.host === alias)) peers.push({ host: alias, ip: theirs.endpoint.ip });
    }
  }
  return peers;
}

/** Same inode, new content: written over the old, then cut to length (a reader never sees it empty). */
export function rewriteInPlace(file: string, content: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch {
    return; // the container is being removed
  }
  try {
    const b = Buffer.from(content);
    fs.writeSync(fd, b, 0, b.length, 0);
    fs.ftruncateSync(fd, b.length);
  } finally {
    fs.closeSync(fd);
  }
}
