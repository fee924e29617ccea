/**
 * Containers on networks: CNI ADD when one starts, DEL when it is gone, and the /etc/hosts of every
 * container of a network kept current.
 *
 * Each attachment is recorded in <runRoot>/cni/attachments/<container id>.json with everything DEL
 * needs (the conflist used, the ADD result, the port mappings) and the container process (pid and
 * start time). The record lives beside the host-local leases (<runRoot>/cni/networks) and, like
 * them and like the veths and iptables rules they describe, is gone after a reboot; it is neither
 * the shim's state.json nor inside the container directory, which an --rm container loses.
 *
 * DEL runs on every exit path: Runtime.finish (normal exit, foreground), rm -f, and whenever a
 * record's process is found dead (repair, ps, network commands). The bridge plugin only removes
 * its masquerading rule when it can find the container's interface in the network namespace
 * (containernetworking/plugins#810), so DEL gets a namespace that still exists: one held open by
 * the caller, the live process's, or else a scratch namespace holding an `eth0` with the recorded
 * address, which the plugin deletes (and tears the rule down for) as it would the real one.
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
import type { ContainerNetwork, EndpointInfo, HostEntry, NetworkInfo, PortMapping } from './types';

export const IFNAME = 'eth0';
/** Not a network name (those start with a letter or digit). */
const PORTS_LOCK = '.ports';

export interface AttachmentRecord {
  containerId: string;
  name: string;
  hostname: string;
  /** The container's /etc/hosts on the host (bind-mounted; rewritten in place). */
  hostsFile: string;
  addHosts: HostEntry[];
  pid: number;
  pidStartTime?: number;
  network: string;
  ifname: string;
  /** CNI_ARGS of the ADD, repeated for DEL. */
  args: string;
  /** The chain as ADD ran it, so DEL runs the same one whatever happened to the network since. */
  conflist: Conflist;
  result: CniResult;
  endpoint: EndpointInfo;
}

export interface AttachSpec {
  containerId: string;
  name: string;
  hostname: string;
  containerDir: string;
  network: ContainerNetwork;
  addHosts: HostEntry[];
  /** The container's process (paused before exec, or running). */
  pid: number;
  /** Path of its network namespace for ADD, e.g. /proc/PID/ns/net. */
  netns: string;
}

export class NetworkManager {
  readonly store: NetworkStore;
  private readonly attachDir: string;
  private readonly lockDir: string;
  /** host-local's lease directory. */
  readonly dataDir: string;
  private readonly cniPath: string[];

  constructor(root: string, runRoot: string, cniPath?: string[]) {
    this.store = new NetworkStore(root);
    this.attachDir = path.join(runRoot, 'cni', 'attachments');
    this.lockDir = path.join(runRoot, 'cni', 'locks');
    this.dataDir = path.join(runRoot, 'cni', 'networks');
    this.cniPath = cniPath ?? (process.env.BERTH_CNI_PATH ? process.env.BERTH_CNI_PATH.split(':') : DEFAULT_CNI_PATH);
  }

  /** CNI ADD of a container to its network, then the hosts files of the network. Leaves nothing
   *  behind on failure. */
  attach(spec: AttachSpec): EndpointInfo {
    const net = this.store.get(spec.network.name ?? DEFAULT_NETWORK);
    const stale = this.read(spec.containerId);
    if (stale) this.detach(spec.containerId);
    // dead containers' port mappings and addresses go before new ones are handed out
    this.sweep();
    if (spec.network.ip !== undefined) checkRequestedIp(net.info, spec.network.ip);
    for (const p of net.list.plugins) findPlugin(p.type, this.cniPath);
    if (needsIptables(net.list)) requireIptables();
    const conflist = runtimeConflist(net.list, this.dataDir);
    const args = ['IgnoreUnknown=1', ...(spec.network.ip ? [`IP=${spec.network.ip}`] : []), ...(spec.network.mac ? [`MAC=${spec.network.mac}`] : [])].join(';');
    if ((spec.network.ports?.length ?? 0) > 0 && net.info.internal) {
      throw new BerthError('INVALID_ARGUMENT', `Network ${net.info.name} is internal: ports cannot be published from it`);
    }
    return this.withLock(net.info.name, () => {
      // host ports are host-wide: chosen and recorded (the pending record) under one lock of all networks
      const portsLock = this.lock(PORTS_LOCK);
      let ports: PortMapping[];
      try {
        ports = assignHostPorts(spec.network.ports ?? [], [...this.records().flatMap((r) => (r.containerId === spec.containerId ? [] : r.endpoint.ports)), ...hostBoundPorts()]);
      } catch (e) {
        fs.closeSync(portsLock);
        throw e;
      }
      const call: CniCall = {
        containerId: spec.containerId,
        netns: spec.netns,
        ifname: IFNAME,
        args,
        runtimeConfig: { portMappings: ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIP })) },
        cniPath: this.cniPath,
        label: spec.name,
      };
      // portmap without mappings does nothing on ADD or DEL: leaving it out saves two plugin runs
      const chain = ports.length > 0 ? conflist : { ...conflist, plugins: conflist.plugins.filter((p) => p.type !== 'portmap') };
      const pending: AttachmentRecord = {
        containerId: spec.containerId,
        name: spec.name,
        hostname: spec.hostname,
        hostsFile: path.join(spec.containerDir, 'hosts'),
        addHosts: spec.addHosts,
        pid: spec.pid,
        pidStartTime: processStartTime(spec.pid),
        network: net.info.name,
        ifname: IFNAME,
        args,
        conflist: chain,
        result: { cniVersion: chain.cniVersion },
        endpoint: { network: net.info.name, ip: '', prefixLength: 0, mac: '', ports },
      };
      // recorded before ADD: if this process dies half-way, whoever sweeps next runs DEL
      try {
        fs.mkdirSync(this.attachDir, { recursive: true, mode: 0o700 });
        writeJsonAtomic(this.recordFile(spec.containerId), pending);
      } finally {
        fs.closeSync(portsLock);
      }
      let result: CniResult;
      try {
        result = addChain(chain, call);
      } catch (e) {
        fs.rmSync(this.recordFile(spec.containerId), { force: true });
        throw e;
      }
      try {
        const record: AttachmentRecord = { ...pending, result, endpoint: { network: net.info.name, ...containerAddress(result, IFNAME), ports } };
        writeJsonAtomic(this.recordFile(spec.containerId), record);
        this.refreshHosts(net.info);
        return record.endpoint;
      } catch (e) {
        fs.rmSync(this.recordFile(spec.containerId), { force: true });
        try {
          delChain(chain, call, result);
        } catch {
          /* the first error is the one to report */
        }
        throw e;
      }
    });
  }

  /**
   * CNI DEL of a container, if it is attached: idempotent, and safe to race with another DEL of
   * it (the record is taken under the network's lock). `netns`: a path to the container's network
   * namespace the caller keeps alive (an open fd); without one, the live process's or a scratch one.
   */
  detach(containerId: string, netns?: string): void {
    const first = this.read(containerId);
    if (!first) return;
    this.withLock(first.network, () => {
      const rec = this.read(containerId);
      if (!rec) return;
      const call: CniCall = {
        containerId,
        netns: '',
        ifname: rec.ifname,
        args: rec.args,
        runtimeConfig: { portMappings: rec.endpoint.ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIP })) },
        cniPath: this.cniPath,
        label: rec.name,
      };
      const live = alive(rec) ? `/proc/${rec.pid}/ns/net` : undefined;
      const nsPath = netns ?? (live && fs.existsSync(live) ? live : undefined);
      try {
        if (nsPath) delChain(rec.conflist, { ...call, netns: nsPath }, rec.result);
        // an ADD that never finished: no address to rebuild a namespace for, a plain DEL
        else if (!rec.endpoint.ip) delChain(rec.conflist, call);
        else withScratchNetns(rec, (scratch) => delChain(rec.conflist, { ...call, netns: scratch }, rec.result));
      } finally {
        // A DEL that failed is not retried forever: what it could release, it did; the record goes.
        fs.rmSync(this.recordFile(containerId), { force: true });
        const info = this.store.read(rec.network)?.info;
        if (info) this.refreshHosts(info);
      }
    });
  }

  /** CNI CHECK of a running container's attachment. portmap is left out for a container without an
   *  IPv6 address: its CHECK then looks for ip6tables rules it never made (containernetworking/plugins#819). */
  check(containerId: string): void {
    const rec = this.read(containerId);
    if (!rec) throw new BerthError('INVALID_STATE', `Container ${containerId.slice(0, 12)} is not attached to a network`);
    const ipv6 = (rec.result.ips ?? []).some((i) => i.address.includes(':'));
    const list = ipv6 ? rec.conflist : { ...rec.conflist, plugins: rec.conflist.plugins.filter((p) => p.type !== 'portmap') };
    checkChain(list, {
      containerId, netns: `/proc/${rec.pid}/ns/net`, ifname: rec.ifname, args: rec.args, cniPath: this.cniPath, label: rec.name,
      runtimeConfig: { portMappings: rec.endpoint.ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIP })) },
    }, rec.result);
  }

  /** DEL for every attachment whose process is gone (a container that exited while no berth process
   *  watched it, or whose directory an --rm removed). */
  sweep(): void {
    for (const r of this.records()) {
      if (!alive(r)) {
        try {
          this.detach(r.containerId);
        } catch {
          /* reported by the next command that needs it */
        }
      }
    }
  }

  /** A live container's endpoint, if it is attached. */
  endpoint(containerId: string): EndpointInfo | undefined {
    const r = this.read(containerId);
    return r && alive(r) && r.endpoint.ip ? r.endpoint : undefined;
  }

  /** Live containers of a network (attached, or being attached). */
  members(network: string): AttachmentRecord[] {
    return this.records().filter((r) => r.network === network && alive(r));
  }

  networkInfo(name: string): NetworkInfo & { containers: Array<{ id: string; name: string } & EndpointInfo> } {
    this.sweep();
    const info = this.store.read(name === 'bridge' ? DEFAULT_NETWORK : name)?.info;
    if (!info) throw new BerthError('NETWORK_NOT_FOUND', `Network ${name} not found`);
    return { ...info, containers: this.members(info.name).map((r) => ({ id: r.containerId, name: r.name, ...r.endpoint })) };
  }

  /** network rm: refused while a container uses the network; the bridge and the leases go too. */
  removeNetwork(name: string): NetworkInfo {
    this.sweep();
    const n = name === 'bridge' ? DEFAULT_NETWORK : name;
    const users = this.members(n);
    if (users.length > 0) {
      throw new BerthError('NETWORK_IN_USE', `Network ${name} is in use by container${users.length > 1 ? 's' : ''} ${users.map((u) => u.name).join(', ')}; stop or remove ${users.length > 1 ? 'them' : 'it'} first`);
    }
    const info = this.withLock(n, () => this.store.remove(n));
    fs.rmSync(path.join(this.dataDir, info.name), { recursive: true, force: true });
    fs.rmSync(path.join(this.lockDir, `${info.name}.lock`), { force: true });
    return info;
  }

  read(containerId: string): AttachmentRecord | undefined {
    try {
      return readJsonIfExists<AttachmentRecord>(this.recordFile(containerId));
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

  private recordFile(containerId: string): string {
    if (!/^[0-9a-f]{64}$/.test(containerId)) throw new BerthError('INTERNAL', `Invalid container id ${containerId}`);
    return path.join(this.attachDir, `${containerId}.json`);
  }

  /** Rewrites /etc/hosts of every live container of the network, in place (the file is bind-mounted:
   *  its inode must stay). Peers are listed by name on user networks; the default network, as
   *  docker's, gives no name resolution between containers. */
  private refreshHosts(info: NetworkInfo): void {
    const members = this.members(info.name);
    const byName = info.name !== DEFAULT_NETWORK;
    for (const m of members.filter((r) => r.endpoint.ip)) {
      const peers = byName ? members.filter((p) => p.containerId !== m.containerId && p.endpoint.ip).map((p) => ({ host: p.name, ip: p.endpoint.ip })) : [];
      rewriteInPlace(m.hostsFile, hostsContent({ hostname: m.hostname, name: m.name, ip: m.endpoint.ip, extra: m.addHosts, gateway: m.endpoint.gateway, peers }));
    }
  }

  private withLock<T>(network: string, fn: () => T): T {
    const fd = this.lock(network);
    try {
      return fn();
    } finally {
      fs.closeSync(fd);
    }
  }

  /** <runRoot>/cni/locks/NAME.lock, held (flock) until the returned fd is closed. */
  private lock(name: string): number {
    fs.mkdirSync(this.lockDir, { recursive: true, mode: 0o700 });
    const fd = fs.openSync(path.join(this.lockDir, `${name}.lock`), 'a', 0o600);
    try {
      native().flock(fd, true, true);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return fd;
  }
}

/** Whether the record's process is still the one that was attached (pid and start time). */
function alive(r: AttachmentRecord): boolean {
  const t = processStartTime(r.pid);
  return t !== undefined && t === r.pidStartTime;
}

/**
 * For a DEL whose container namespace is gone: a scratch network namespace, held by a `sleep` started
 * with unshare, with a veth named like the container's interface carrying its recorded address. The
 * plugins run on the host as usual with CNI_NETNS pointing there; the bridge plugin finds the
 * interface, deletes it and, back on the host, removes the masquerading rule of that address.
 * Without unshare or ip (util-linux, iproute2): a DEL without a namespace, which releases the
 * address and the port mappings but leaves the masquerading rule.
 */
function withScratchNetns(rec: AttachmentRecord, fn: (netns: string) => void): void {
  const unshare = findTool('unshare');
  const ip = findTool('ip');
  if (!unshare || !ip) return fn('');
  const n = native();
  const [readEnd, writeEnd] = n.pipe();
  let holder: import('node:child_process').ChildProcess | undefined;
  try {
    const script = '"$0" link add "$1" type veth peer name "$1-peer" && "$0" addr add "$2" dev "$1" && echo ready && exec sleep 300';
    holder = (require('node:child_process') as typeof import('node:child_process')).spawn(
      unshare, ['--net', '--', '/bin/sh', '-c', script, ip, rec.ifname, `${rec.endpoint.ip}/${rec.endpoint.prefixLength}`],
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
