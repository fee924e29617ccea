/**
 * Containers on networks: a pinned network namespace per container (its sandbox), CNI ADD of each
 * of its networks into it before the container starts, DEL when it is gone, and the /etc/hosts of
 * every container of a network kept current.
 *
 * The sandbox is a network namespace bind-mounted at <runRoot>/netns/<container id> (as `ip netns
 * add` and podman do), made before the container's process exists: the process joins it
 * (SpawnPlan.netnsPath), so its network is in place before its command runs, a detached
 * container's restarts (by its shim) keep it, `network connect` can add interfaces to it, and DEL
 * always finds the interfaces it deletes (the bridge plugin removes its masquerading rule only
 * then: containernetworking/plugins#810).
 *
 * Each sandbox is recorded in <runRoot>/cni/attachments/<container id>.json with everything DEL
 * needs (per network: the conflist used, the ADD result, the port mappings) and its owner: the
 * process whose life the sandbox follows (the berth process while it starts the container, then
 * the container's process for a foreground run or its shim for a detached one). The record is
 * written before the namespace is made and removed after it is gone, so a crash at any point
 * leaves a record whose owner is dead: the next sweep (ps, run, network commands) runs DEL and
 * unpins the namespace. Records live beside host-local's leases and, like them and the veths and
 * iptables rules they describe, are gone after a reboot.
 *
 * Locks (flock, in <runRoot>/cni/locks): a container's (.ctr-ID) around changes to its record, then
 * a network's (NAME) around ADD/DEL and the hosts files of that network, then .ports around choosing
 * host ports. Always taken in that order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { native } from '../native';
import { processStartTime } from '../runtime/proc';
import { readJsonIfExists, writeJsonAtomic } from '../util/fs';
import { addChain, checkChain, containerAddress, DEFAULT_CNI_PATH, delChain, findPlugin, findTool, requireIptables, type CniCall, type CniResult } from './cni';
import { needsIptables, runtimeConflist, type Conflist } from './config';
import { hostsContent } from './hosts';
import { DEFAULT_NETWORK, NetworkStore, checkRequestedIp } from './networks';
import { assignHostPorts, hostBoundPorts } from './ports';
import type { ContainerNetwork, EndpointInfo, HostEntry, NetworkInfo } from './types';

/** Not a network name (those start with a letter or digit). */
const PORTS_LOCK = '.ports';

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
}

export interface AttachmentRecord {
  containerId: string;
  name: string;
  hostname: string;
  /** The container's /etc/hosts on the host (bind-mounted; rewritten in place). */
  hostsFile: string;
  addHosts: HostEntry[];
  /** The process the sandbox lives as long as (see the file comment). */
  pid: number;
  pidStartTime?: number;
  /** The pinned network namespace. */
  netns: string;
  /** The first is the container's primary network (eth0, its published ports). */
  attachments: NetworkAttachment[];
}

export interface AttachSpec {
  containerId: string;
  name: string;
  hostname: string;
  containerDir: string;
  /** The container's networks, the primary first. */
  networks: ContainerNetwork[];
  addHosts: HostEntry[];
}

export class NetworkManager {
  readonly store: NetworkStore;
  private readonly attachDir: string;
  private readonly lockDir: string;
  private readonly netnsDir: string;
  /** host-local's lease directory. */
  readonly dataDir: string;
  private readonly cniPath: string[];

  /**
   * `adopt`: for a container whose recorded owner is gone, a live process that runs it now, if any
   * (its shim): a berth killed between starting a detached container and handing its sandbox to the
   * shim leaves the sandbox to the shim instead of to the next sweep.
   */
  constructor(root: string, runRoot: string, cniPath?: string[], private readonly adopt: (containerId: string) => number | undefined = () => undefined) {
    this.store = new NetworkStore(root);
    this.attachDir = path.join(runRoot, 'cni', 'attachments');
    this.lockDir = path.join(runRoot, 'cni', 'locks');
    this.dataDir = path.join(runRoot, 'cni', 'networks');
    this.netnsDir = path.join(runRoot, 'netns');
    this.cniPath = cniPath ?? (process.env.BERTH_CNI_PATH ? process.env.BERTH_CNI_PATH.split(':') : DEFAULT_CNI_PATH);
  }

  /**
   * Makes the container's sandbox and runs CNI ADD of each of its networks in it; returns the
   * namespace's path for the container to join. Owned by this process until setOwner. Leaves
   * nothing behind on failure.
   */
  attach(spec: AttachSpec): string {
    // what a dead start of this container left, and dead containers' addresses and ports, go first
    this.release(spec.containerId, { ifOwnerGone: true });
    this.sweep();
    const nets = spec.networks.map((n) => this.prepare(n));
    const netns = path.join(this.netnsDir, spec.containerId);
    return this.withLock(containerLock(spec.containerId), () => {
      // a live owner: another process runs (or is starting) this very container
      if (this.read(spec.containerId)) {
        throw new BerthError('INVALID_STATE', `Container ${spec.name} is already running or being started by another berth process`);
      }
      const rec: AttachmentRecord = {
        containerId: spec.containerId,
        name: spec.name,
        hostname: spec.hostname,
        hostsFile: path.join(spec.containerDir, 'hosts'),
        addHosts: spec.addHosts,
        pid: process.pid,
        pidStartTime: processStartTime(process.pid),
        netns,
        attachments: [],
      };
      // recorded before anything exists: if this process dies half-way, whoever sweeps next cleans up
      fs.mkdirSync(this.attachDir, { recursive: true, mode: 0o700 });
      fs.mkdirSync(this.netnsDir, { recursive: true, mode: 0o700 });
      writeJsonAtomic(this.recordFile(spec.containerId), rec);
      try {
        native().createNetns(netns);
        for (const [i, n] of nets.entries()) this.addNetwork(rec, n.info, n.list, spec.networks[i], `eth${i}`);
      } catch (e) {
        try {
          this.releaseLocked(rec);
        } catch {
          /* the first error is the one to report */
        }
        throw e;
      }
      return netns;
    });
  }

  /** Hands the sandbox to the process it lives as long as from now on (the container or its shim).
   *  One that is gone already (a container that ended at once) is released here: whoever looked in
   *  between (its shim's exit command) saw this process as the owner and left it alone. */
  setOwner(containerId: string, pid: number): void {
    this.withLock(containerLock(containerId), () => {
      const rec = this.read(containerId);
      if (!rec) throw new BerthError('INTERNAL', `The network of container ${containerId.slice(0, 12)} vanished while it started`);
      const owned = { ...rec, pid, pidStartTime: processStartTime(pid) };
      writeJsonAtomic(this.recordFile(containerId), owned);
      if (!alive(owned)) this.releaseLocked(owned);
    });
  }

  /** network connect: ADD of one more network into a running container's sandbox. */
  connect(containerId: string, network: ContainerNetwork): EndpointInfo {
    const n = this.prepare(network);
    return this.withLock(containerLock(containerId), () => {
      const rec = this.read(containerId);
      if (!rec || !alive(rec)) throw new BerthError('INVALID_STATE', `Container ${containerId.slice(0, 12)} is not running on a network`);
      if (rec.attachments.some((a) => a.network === n.info.name)) {
        throw new BerthError('INVALID_STATE', `Container ${rec.name} is already connected to network ${n.info.name}`);
      }
      let ifname = '';
      for (let i = 0; !ifname; i++) if (!rec.attachments.some((a) => a.ifname === `eth${i}`)) ifname = `eth${i}`;
      return this.addNetwork(rec, n.info, n.list, network, ifname);
    });
  }

  /** network disconnect: DEL of one network of a running container. */
  disconnect(containerId: string, network: string): void {
    this.withLock(containerLock(containerId), () => {
      const rec = this.read(containerId);
      const a = rec?.attachments.find((x) => x.network === network);
      if (!rec || !a) throw new BerthError('INVALID_STATE', `Container ${rec?.name ?? containerId.slice(0, 12)} is not connected to network ${network}`);
      this.withLock(network, () => {
        try {
          this.delNetwork(rec, a);
        } finally {
          writeJsonAtomic(this.recordFile(containerId), { ...rec, attachments: rec.attachments.filter((x) => x !== a) });
          this.refreshHosts(network);
        }
      });
    });
  }

  /**
   * CNI DEL of every network of a container and its sandbox gone, if it has one: idempotent, and
   * safe to race with another release of it (the record is taken under the container's lock).
   * `ifOwnerGone`: only if the record's owner is dead when the lock is held (a sweep must never
   * take down a sandbox a new start of the container made since it looked).
   */
  release(containerId: string, opts: { ifOwnerGone?: boolean } = {}): void {
    if (!this.read(containerId)) return;
    let released = false;
    this.withLock(containerLock(containerId), () => {
      const rec = this.read(containerId);
      if (!rec || (opts.ifOwnerGone && alive(rec))) return;
      const heir = opts.ifOwnerGone ? this.adopt(containerId) : undefined;
      if (heir !== undefined) {
        writeJsonAtomic(this.recordFile(containerId), { ...rec, pid: heir, pidStartTime: processStartTime(heir) });
        return;
      }
      released = true;
      this.releaseLocked(rec);
    });
    // the lock file goes with the record (lock() copes with a file unlinked under a waiter)
    if (released) fs.rmSync(path.join(this.lockDir, `${containerLock(containerId)}.lock`), { force: true });
  }

  /** CNI CHECK of a running container's networks. portmap is left out for a container without an
   *  IPv6 address: its CHECK then looks for ip6tables rules it never made (containernetworking/plugins#819). */
  check(containerId: string): void {
    const rec = this.read(containerId);
    if (!rec || rec.attachments.length === 0) throw new BerthError('INVALID_STATE', `Container ${containerId.slice(0, 12)} is not attached to a network`);
    for (const a of rec.attachments) {
      const ipv6 = (a.result.ips ?? []).some((i) => i.address.includes(':'));
      const list = ipv6 ? a.conflist : { ...a.conflist, plugins: a.conflist.plugins.filter((p) => p.type !== 'portmap') };
      checkChain(list, { ...this.call(rec, a), netns: rec.netns }, a.result);
    }
  }

  /** Release of every sandbox whose owner is gone (a container that exited while no berth process
   *  watched it, a shim that ended, a berth killed while it started one), and of namespaces no
   *  record owns. */
  sweep(): void {
    for (const r of this.records()) {
      if (!alive(r)) {
        try {
          this.release(r.containerId, { ifOwnerGone: true });
        } catch {
          /* reported by the next command that needs it */
        }
      }
    }
    let pinned: string[];
    try {
      pinned = fs.readdirSync(this.netnsDir);
    } catch {
      return;
    }
    // a record is written before its namespace is made and removed after it is gone: one without
    // a record is debris, unless a start made it between our two reads (so: checked under its lock)
    for (const id of pinned.filter((f) => /^[0-9a-f]{64}$/.test(f))) {
      if (this.read(id)) continue;
      try {
        this.withLock(containerLock(id), () => {
          if (!this.read(id)) native().removeNetns(path.join(this.netnsDir, id));
        });
      } catch {
        /* the next sweep */
      }
    }
  }

  /** A live container's primary endpoint, if it is attached. */
  endpoint(containerId: string): EndpointInfo | undefined {
    return this.endpoints(containerId)[0];
  }

  /** A live container's endpoints, the primary first. */
  endpoints(containerId: string): EndpointInfo[] {
    const r = this.read(containerId);
    return r && alive(r) ? r.attachments.filter((a) => a.endpoint.ip).map((a) => a.endpoint) : [];
  }

  /** Live containers of a network (attached, or being attached), with their endpoint on it. */
  members(network: string): Array<{ record: AttachmentRecord; endpoint: EndpointInfo }> {
    return this.records().flatMap((record) => {
      const a = alive(record) ? record.attachments.find((x) => x.network === network) : undefined;
      return a ? [{ record, endpoint: a.endpoint }] : [];
    });
  }

  networkInfo(name: string): NetworkInfo & { containers: Array<{ id: string; name: string } & EndpointInfo> } {
    this.sweep();
    const info = this.store.read(name === 'bridge' ? DEFAULT_NETWORK : name)?.info;
    if (!info) throw new BerthError('NETWORK_NOT_FOUND', `Network ${name} not found`);
    return { ...info, containers: this.members(info.name).map((m) => ({ id: m.record.containerId, name: m.record.name, ...m.endpoint })) };
  }

  /** network rm: refused while a container uses the network; the bridge and the leases go too. */
  removeNetwork(name: string): NetworkInfo {
    this.sweep();
    const n = name === 'bridge' ? DEFAULT_NETWORK : name;
    const users = this.members(n).map((m) => m.record.name);
    if (users.length > 0) {
      throw new BerthError('NETWORK_IN_USE', `Network ${name} is in use by container${users.length > 1 ? 's' : ''} ${users.join(', ')}; stop or remove ${users.length > 1 ? 'them' : 'it'} (or berth network disconnect) first`);
    }
    const info = this.withLock(n, () => this.store.remove(n));
    fs.rmSync(path.join(this.dataDir, info.name), { recursive: true, force: true });
    fs.rmSync(path.join(this.lockDir, `${info.name}.lock`), { force: true });
    return info;
  }

  read(containerId: string): AttachmentRecord | undefined {
    try {
      const r = readJsonIfExists<AttachmentRecord>(this.recordFile(containerId));
      return r && Array.isArray(r.attachments) ? r : undefined;
    } catch {
      return undefined; // torn by a crash mid-write is impossible (rename), unreadable: treat as absent
    }
  }

  records(): AttachmentRecord[] {
    let files: string[];
    try {
      files = fs.readdirSync(this.attachDir).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
    } catch {
      return [];
    }
    return files.flatMap((f) => {
      const r = this.read(f.slice(0, -5));
      return r ? [r] : [];
    });
  }

  /** The network and its chain, checked before anything is made: plugins present, iptables, --ip. */
  private prepare(n: ContainerNetwork): { info: NetworkInfo; list: Conflist } {
    const net = this.store.get(n.name ?? DEFAULT_NETWORK);
    if (n.ip !== undefined) checkRequestedIp(net.info, n.ip);
    for (const p of net.list.plugins) findPlugin(p.type, this.cniPath);
    if (needsIptables(net.list)) requireIptables();
    if ((n.ports?.length ?? 0) > 0 && net.info.internal) {
      throw new BerthError('INVALID_ARGUMENT', `Network ${net.info.name} is internal: ports cannot be published from it`);
    }
    return net;
  }

  /** ADD of one network into rec's sandbox, recorded in rec (on disk too); the caller holds the container lock. */
  private addNetwork(rec: AttachmentRecord, info: NetworkInfo, list: Conflist, n: ContainerNetwork, ifname: string): EndpointInfo {
    const conflist = runtimeConflist(list, this.dataDir);
    const args = ['IgnoreUnknown=1', ...(n.ip ? [`IP=${n.ip}`] : []), ...(n.mac ? [`MAC=${n.mac}`] : [])].join(';');
    return this.withLock(info.name, () => {
      // host ports are host-wide: chosen and recorded (the pending record) under one lock of all networks
      const portsLock = this.lock(PORTS_LOCK);
      let a: NetworkAttachment;
      try {
        const taken = this.records().flatMap((r) => (r.containerId === rec.containerId ? [] : r.attachments.flatMap((x) => x.endpoint.ports)));
        const ports = assignHostPorts(n.ports ?? [], [...taken, ...hostBoundPorts()]);
        // portmap without mappings does nothing on ADD or DEL: leaving it out saves two plugin runs
        const chain = ports.length > 0 ? conflist : { ...conflist, plugins: conflist.plugins.filter((p) => p.type !== 'portmap') };
        a = { network: info.name, ifname, args, conflist: chain, result: { cniVersion: chain.cniVersion }, endpoint: { network: info.name, ip: '', prefixLength: 0, mac: '', ports } };
        // recorded before ADD: if this process dies half-way, whoever sweeps next runs DEL
        rec.attachments.push(a);
        writeJsonAtomic(this.recordFile(rec.containerId), rec);
      } finally {
        fs.closeSync(portsLock);
      }
      try {
        a.result = addChain(a.conflist, { ...this.call(rec, a), netns: rec.netns });
        a.endpoint = { network: info.name, ...containerAddress(a.result, ifname), ports: a.endpoint.ports };
        writeJsonAtomic(this.recordFile(rec.containerId), rec);
        this.refreshHosts(info.name);
        return a.endpoint;
      } catch (e) {
        try {
          this.delNetwork(rec, a);
        } catch {
          /* the first error is the one to report */
        }
        rec.attachments = rec.attachments.filter((x) => x !== a);
        writeJsonAtomic(this.recordFile(rec.containerId), rec);
        throw e;
      }
    });
  }

  /** DEL of one network; the caller holds the container's and the network's locks. */
  private delNetwork(rec: AttachmentRecord, a: NetworkAttachment): void {
    const call = this.call(rec, a);
    if (isPinned(rec.netns)) delChain(a.conflist, { ...call, netns: rec.netns }, a.result);
    // an ADD that never finished: no address to rebuild a namespace for, a plain DEL
    else if (!a.endpoint.ip) delChain(a.conflist, call);
    // the namespace was lost (unmounted by someone else): a scratch one with the same interface
    else withScratchNetns(a, (scratch) => delChain(a.conflist, { ...call, netns: scratch }, a.result));
  }

  /** DEL of every network, namespace unpinned, record removed; the caller holds the container lock. */
  private releaseLocked(rec: AttachmentRecord): void {
    let first: unknown;
    for (const a of [...rec.attachments].reverse()) {
      try {
        this.withLock(a.network, () => this.delNetwork(rec, a));
      } catch (e) {
        first ??= e;
      }
    }
    try {
      native().removeNetns(rec.netns);
    } catch (e) {
      first ??= e;
    }
    // A DEL that failed is not retried forever: what it could release, it did; the record goes.
    fs.rmSync(this.recordFile(rec.containerId), { force: true });
    for (const a of rec.attachments) {
      try {
        this.withLock(a.network, () => this.refreshHosts(a.network));
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  }

  private call(rec: AttachmentRecord, a: NetworkAttachment): CniCall {
    return {
      containerId: rec.containerId,
      netns: '',
      ifname: a.ifname,
      args: a.args,
      runtimeConfig: { portMappings: a.endpoint.ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIP })) },
      cniPath: this.cniPath,
      label: rec.name,
    };
  }

  private recordFile(containerId: string): string {
    if (!/^[0-9a-f]{64}$/.test(containerId)) throw new BerthError('INTERNAL', `Invalid container id ${containerId}`);
    return path.join(this.attachDir, `${containerId}.json`);
  }

  /** Rewrites /etc/hosts of every live container of the network, in place (the file is bind-mounted:
   *  its inode must stay). Peers are listed by name from every user network a container is on; the
   *  default network, as docker's, gives no name resolution between containers. */
  private refreshHosts(network: string): void {
    const all = this.records().filter(alive);
    for (const m of all.filter((r) => r.attachments.some((a) => a.network === network))) {
      const primary = m.attachments.find((a) => a.endpoint.ip);
      if (!primary) continue;
      const peers: HostEntry[] = [];
      for (const a of m.attachments.filter((x) => x.network !== DEFAULT_NETWORK && x.endpoint.ip)) {
        for (const p of all) {
          const theirs = p.containerId !== m.containerId ? p.attachments.find((x) => x.network === a.network && x.endpoint.ip) : undefined;
          if (theirs && !peers.some((e) => e.host === p.name)) peers.push({ host: p.name, ip: theirs.endpoint.ip });
        }
      }
      rewriteInPlace(m.hostsFile, hostsContent({ hostname: m.hostname, name: m.name, ip: primary.endpoint.ip, extra: m.addHosts, gateway: primary.endpoint.gateway, peers }));
    }
  }

  private withLock<T>(name: string, fn: () => T): T {
    const fd = this.lock(name);
    try {
      return fn();
    } finally {
      fs.closeSync(fd);
    }
  }

  /** <runRoot>/cni/locks/NAME.lock, held (flock) until the returned fd is closed. A container's lock
   *  file is unlinked when its sandbox goes: a lock taken on a file no longer at the path is taken
   *  again on the current one. */
  private lock(name: string): number {
    fs.mkdirSync(this.lockDir, { recursive: true, mode: 0o700 });
    const file = path.join(this.lockDir, `${name}.lock`);
    for (;;) {
      const fd = fs.openSync(file, 'a', 0o600);
      try {
        native().flock(fd, true, true);
        const now = fs.statSync(file, { throwIfNoEntry: false });
        if (now && now.ino === fs.fstatSync(fd).ino) return fd;
      } catch (e) {
        fs.closeSync(fd);
        throw e;
      }
      fs.closeSync(fd);
    }
  }
}

function containerLock(containerId: string): string {
  return `.ctr-${containerId}`;
}

/** Whether the record's owner is still the process that was recorded (pid and start time). */
function alive(r: AttachmentRecord): boolean {
  const t = processStartTime(r.pid);
  return t !== undefined && t === r.pidStartTime;
}

/** Whether path is a mounted network namespace (an nsfs mount), not the empty file under it. */
function isPinned(p: string): boolean {
  try {
    return fs.statSync(p).dev !== fs.statSync(path.dirname(p)).dev;
  } catch {
    return false;
  }
}

/**
 * For a DEL whose container namespace is gone: a scratch network namespace, held by a `sleep` started
 * with unshare, with a veth named like the container's interface carrying its recorded address. The
 * plugins run on the host as usual with CNI_NETNS pointing there; the bridge plugin finds the
 * interface, deletes it and, back on the host, removes the masquerading rule of that address.
 * Without unshare or ip (util-linux, iproute2): a DEL without a namespace, which releases the
 * address and the port mappings but leaves the masquerading rule.
 */
function withScratchNetns(a: NetworkAttachment, fn: (netns: string) => void): void {
  const unshare = findTool('unshare');
  const ip = findTool('ip');
  if (!unshare || !ip) return fn('');
  const n = native();
  const [readEnd, writeEnd] = n.pipe();
  let holder: import('node:child_process').ChildProcess | undefined;
  try {
    const script = '"$0" link add "$1" type veth peer name "$1-peer" && "$0" addr add "$2" dev "$1" && echo ready && exec sleep 300';
    holder = (require('node:child_process') as typeof import('node:child_process')).spawn(
      unshare, ['--net', '--', '/bin/sh', '-c', script, ip, a.ifname, `${a.endpoint.ip}/${a.endpoint.prefixLength}`],
      { stdio: ['ignore', writeEnd, 'ignore'] },
    );
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
