/**
 * The native bridge driver, the default for bridge networks: what the CNI chain (bridge,
 * host-local, portmap) did per container, without running a plugin. The veth pair, addresses,
 * route and bridge through rtnetlink from the addon (native/core/netlink.cc, plain data in);
 * addresses from native-ipam.ts; the network's NAT rules once per network and a container's
 * published ports in one iptables-restore (native-rules.ts). Names and addresses are decided here.
 *
 * As with CNI (cni-attachment.ts) the attachment is recorded before anything is made and dropped
 * only after it is undone, so whoever sweeps after a crash finds what to remove: the host end of
 * the veth by its name (the kernel deletes the peer with it), the port chain, the lease.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { native } from '../native';
import { requireIptables } from './cni';
import { CNI_VERSION } from './config';
import { syncHostsFiles } from './hosts-sync';
import type { NetworkLocks } from './network-locks';
import { DEFAULT_NETWORK, checkRequestedIp, type NetworkStore, type StoredNetwork } from './networks';
import { NativeIpam } from './native-ipam';
import { dnatChain, NativeRules } from './native-rules';
import { assignHostPorts, hostBoundPorts } from './ports';
import type { AttachmentRecord, NetworkAttachment, SandboxRecords } from './sandbox-records';
import { parseSubnet } from './subnet';
import type { ContainerNetwork, EndpointInfo, NetworkInfo } from './types';

const MTU = 1500;

/** The host end of a container's veth: bv + 10 hex digits of its id + the interface's number. */
export function hostIfname(containerId: string, ifname: string): string {
  return `bv${containerId.slice(0, 10)}${ifname.replace(/^eth/, '')}`;
}

/** docker's MAC for an address: 02:42 then the address's four bytes. */
export function macFor(ip: string): string {
  return ['02', '42', ...ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}

export class NativeAttachments {
  readonly ipam: NativeIpam;
  readonly rules: NativeRules;

  constructor(
    private readonly store: NetworkStore,
    private readonly records: SandboxRecords,
    private readonly locks: NetworkLocks,
    dataDir: string,
  ) {
    this.ipam = new NativeIpam(dataDir);
    this.rules = new NativeRules(dataDir);
  }

  prepare(n: ContainerNetwork): StoredNetwork {
    const net = this.store.get(n.name ?? DEFAULT_NETWORK);
    if (n.ip !== undefined) checkRequestedIp(net.info, n.ip);
    if ((n.ports?.length ?? 0) > 0 && net.info.internal) {
      throw new BerthError('INVALID_ARGUMENT', `Network ${net.info.name} is internal: ports cannot be published from it`);
    }
    if (!net.info.internal) requireIptables();
    return net;
  }

  /** The bridge (made if missing, with the gateway, up, route_localnet for published ports from
   *  127.0.0.1), ip_forward, the network's rules. Cheap when all is in place. Network lock held. */
  ensureNetwork(info: NetworkInfo): void {
    const { prefix } = parseSubnet(info.subnet);
    native().nlEnsureBridge({ name: info.bridge, mtu: MTU, ...(info.internal ? {} : { address: info.gateway, prefix }) });
    if (info.internal) return;
    writeIfDifferent(`/proc/sys/net/ipv4/conf/${info.bridge}/route_localnet`, '1');
    writeIfDifferent('/proc/sys/net/ipv4/ip_forward', '1');
    this.rules.ensureNetwork(info);
  }

  /** One network into rec's sandbox as `ifname`; the caller holds the container's lock. */
  add(rec: AttachmentRecord, net: StoredNetwork, n: ContainerNetwork, ifname: string): EndpointInfo {
    const { info } = net;
    return this.locks.network(info.name, () => {
      const a = this.locks.ports((): NetworkAttachment => {
        const taken = this.records
          .list()
          .flatMap((r) => (r.containerId === rec.containerId ? [] : r.attachments.flatMap((x) => x.endpoint.ports)));
        const ports = assignHostPorts(n.ports ?? [], n.ports?.length ? [...taken, ...hostBoundPorts()] : taken);
        const ip = this.ipam.choose(info, rec.containerId, n.ip);
        const { prefix } = parseSubnet(info.subnet);
        const pending: NetworkAttachment = {
          network: info.name,
          ifname,
          args: '',
          conflist: { cniVersion: CNI_VERSION, name: info.name, plugins: [] },
          result: { cniVersion: CNI_VERSION },
          endpoint: { network: info.name, ip, prefixLength: prefix, gateway: info.gateway, mac: n.mac ?? macFor(ip), ports },
          native: {
            hostIfname: hostIfname(rec.containerId, ifname),
            bridge: info.bridge,
            ...(ports.length > 0 ? { dnat: dnatChain(info) } : {}),
          },
        };
        // recorded before anything is made: if this process dies half-way, whoever sweeps next undoes it
        rec.attachments.push(pending);
        this.records.write(rec);
        return pending;
      });
      try {
        this.ipam.reserve(info.name, a.endpoint.ip, rec.containerId, ifname);
        this.ensureNetwork(info);
        attachVeth({
          bridge: info.bridge,
          hostName: a.native!.hostIfname,
          netns: rec.netns,
          ifname,
          mac: a.endpoint.mac,
          mtu: MTU,
          address: a.endpoint.ip,
          prefix: a.endpoint.prefixLength,
          ...(info.internal ? {} : { gateway: info.gateway }),
        });
        this.rules.addPorts(info, rec.containerId, a.endpoint.ip, a.endpoint.ports);
        syncHostsFiles(this.records, info.name);
        return a.endpoint;
      } catch (e) {
        try {
          this.del(rec, a);
        } catch {
          /* the first error is the one to report */
        }
        rec.attachments = rec.attachments.filter((x) => x !== a);
        this.records.write(rec);
        throw wrap(e, info.name, rec.name);
      }
    });
  }

  /** Undoes one attachment, whatever part of it exists; the caller holds the container's and the
   *  network's locks and updates the record. */
  del(rec: AttachmentRecord, a: NetworkAttachment, opts: { withSandbox?: boolean } = {}): void {
    const s = a.native!;
    let first: unknown;
    const step = (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        first ??= e;
      }
    };
    if (s.dnat) step(() => this.rules.removePorts(s.dnat!, rec.containerId));
    // a veth's delete waits ~20 ms for the kernel's RCU grace periods, and a process cannot exit
    // while one of its threads waits in it. When the sandbox goes too, the kernel deletes the pair
    // with the namespace by itself; one the namespace outlives (its unmount failed) is no record's
    // veth on our bridge, which the next sweep deletes, and a new veth of the same name made while
    // the kernel is still at it is handled in attachVeth below.
    if (!opts.withSandbox) step(() => native().nlDeleteLink(s.hostIfname));
    step(() => this.ipam.release(a.network, a.endpoint.ip, rec.containerId));
    if (first) throw first;
  }

  /** The host ends of a running container's veths exist and sit on their bridges. */
  check(rec: AttachmentRecord): void {
    for (const a of rec.attachments) {
      const s = a.native!;
      let master = '';
      try {
        master = path.basename(fs.readlinkSync(`/sys/class/net/${s.hostIfname}/master`));
      } catch {
        /* missing */
      }
      if (master !== s.bridge) {
        throw new BerthError('NETWORK_ERROR', `Interface ${s.hostIfname} of container ${rec.name} is not on bridge ${s.bridge}`);
      }
    }
  }
}

/**
 * Host ends of veths on one of `bridges` (this root's) whose container has no sandbox record: what
 * a release that could not delete its veth leaves (the record goes even then). Deleted; a veth
 * the kernel is deleting already is not listed any more by the time the delete is sent (ENODEV).
 * A start records its sandbox before it makes the veth, so none of these is one being made.
 */
export function removeLeakedVeths(bridgesOf: () => Set<string>, hasRecord: (idPrefix: string) => boolean): void {
  let links: string[];
  try {
    links = fs.readdirSync('/sys/class/net').filter((l) => /^bv[0-9a-f]{10}\d+$/.test(l));
  } catch {
    return;
  }
  let bridges: Set<string> | undefined;
  for (const l of links) {
    if (hasRecord(l.slice(2, 12))) continue;
    bridges ??= bridgesOf();
    let master = '';
    try {
      master = path.basename(fs.readlinkSync(`/sys/class/net/${l}/master`));
    } catch {
      continue; // not on a bridge (or gone): not ours to judge
    }
    if (!bridges.has(master)) continue;
    try {
      native().nlDeleteLink(l);
    } catch {
      /* the next sweep */
    }
  }
}

/** nlAttachVeth; a host end of that name still there (the kernel still removing it with the namespace of this container's
 *  previous run, or debris) is deleted first and the pair made again. */
function attachVeth(spec: Parameters<ReturnType<typeof native>['nlAttachVeth']>[0]): void {
  try {
    native().nlAttachVeth(spec);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    native().nlDeleteLink(spec.hostName);
    native().nlAttachVeth(spec);
  }
}

function writeIfDifferent(file: string, value: string): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === value) return;
  } catch {
    /* write below reports it */
  }
  fs.writeFileSync(file, `${value}\n`);
}

function wrap(e: unknown, network: string, container: string): unknown {
  if (e instanceof BerthError) return e;
  const err = e as NodeJS.ErrnoException;
  return new BerthError('NETWORK_ERROR', `Cannot attach container ${container} to network ${network}: ${err.message}`, { cause: e });
}
