/**
 * The record of each container's sandbox, <runRoot>/cni/attachments/<container id>.json: everything
 * a CNI DEL needs (per network: the conflist used, the ADD result, the port mappings) and the owner,
 * the process whose life the sandbox follows. Written atomically (renamed into place), so a reader
 * sees the old record or the new one, never a torn one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { processStartTime } from '../util/proc';
import { readJsonIfExists, writeJsonAtomic } from '../util/fs';
import type { CniResult } from './cni';
import type { Conflist } from './config';
import type { EndpointInfo, HostEntry } from './types';

/** One network of a container: what ADD did, and what DEL must repeat. */
export interface NetworkAttachment {
  network: string;
  ifname: string;
  /** CNI_ARGS of the ADD, repeated for DEL. */
  args: string;
  /** The chain as ADD ran it, so DEL runs the same one whatever happened to the network since. */
  conflist: Conflist;
  result: CniResult;
  endpoint: EndpointInfo;
  /** Made by the native bridge driver (native-bridge.ts) rather than CNI: what it must undo. */
  native?: NativeState;
}

/** What the native driver made for one attachment. */
export interface NativeState {
  /** The veth's host end (the kernel deletes its peer with it). */
  hostIfname: string;
  bridge: string;
  /** The network's DNAT chain the container's port chain hangs off, when it has ports. */
  dnat?: string;
}

export interface AttachmentRecord {
  containerId: string;
  name: string;
  hostname: string;
  /** The container's /etc/hosts on the host (bind-mounted; rewritten in place). */
  hostsFile: string;
  addHosts: HostEntry[];
  /** --network-alias: names the container also answers to on its primary network (peersOf). */
  aliases?: string[];
  /** The process the sandbox lives as long as (see attachments.ts). */
  pid: number;
  pidStartTime?: number;
  /** The pinned network namespace. */
  netns: string;
  /** The first is the container's primary network (eth0, its published ports). */
  attachments: NetworkAttachment[];
}

/** A live container of a network with its endpoint on it. */
export interface NetworkMember {
  record: AttachmentRecord;
  endpoint: EndpointInfo;
}

export class SandboxRecords {
  constructor(readonly dir: string) {}

  read(containerId: string): AttachmentRecord | undefined {
    try {
      const r = readJsonIfExists<AttachmentRecord>(this.file(containerId));
      return r && Array.isArray(r.attachments) ? r : undefined;
    } catch {
      return undefined; // torn by a crash mid-write is impossible (rename), unreadable: treat as absent
    }
  }

  /** Every record, live or not. */
  list(): AttachmentRecord[] {
    let files: string[];
    try {
      files = fs.readdirSync(this.dir).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
    } catch {
      return [];
    }
    return files.flatMap((f) => {
      const r = this.read(f.slice(0, -5));
      return r ? [r] : [];
    });
  }

  /** Live containers of a network (attached, or being attached). */
  members(network: string): NetworkMember[] {
    return this.list().flatMap((record) => {
      const a = ownerAlive(record) ? record.attachments.find((x) => x.network === network) : undefined;
      return a ? [{ record, endpoint: a.endpoint }] : [];
    });
  }

  write(rec: AttachmentRecord): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeJsonAtomic(this.file(rec.containerId), rec);
  }

  remove(containerId: string): void {
    fs.rmSync(this.file(containerId), { force: true });
  }

  private file(containerId: string): string {
    if (!/^[0-9a-f]{64}$/.test(containerId)) throw new BerthError('INTERNAL', `Invalid container id ${containerId}`);
    return path.join(this.dir, `${containerId}.json`);
  }
}

/** Whether the record's owner is still the process that was recorded (pid and start time: a pid
 *  reused by another process does not count). */
export function ownerAlive(r: AttachmentRecord): boolean {
  const t = processStartTime(r.pid);
  return t !== undefined && t === r.pidStartTime;
}
