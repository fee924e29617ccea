/**
 * CNI ADD, DEL and CHECK of one network of a container (one attachment) in its sandbox, with the
 * record kept such that a crash at any point leaves what DEL needs: the attachment is recorded
 * before ADD runs and dropped only after DEL ran.
 */
import { BerthError } from '../errors';
import { addChain, checkChain, containerAddress, delChain, findPlugin, requireIptables, type CniCall } from './cni';
import { needsIptables, runtimeConflist } from './config';
import { syncHostsFiles } from './hosts-sync';
import type { NetworkLocks } from './network-locks';
import { DEFAULT_NETWORK, checkRequestedIp, type NetworkStore, type StoredNetwork } from './networks';
import { isPinned, withScratchNetns } from './netns';
import { assignHostPorts, hostBoundPorts } from './ports';
import type { AttachmentRecord, NetworkAttachment, SandboxRecords } from './sandbox-records';
import type { ContainerNetwork, EndpointInfo } from './types';

export class CniAttachments {
  constructor(
    private readonly store: NetworkStore,
    private readonly records: SandboxRecords,
    private readonly locks: NetworkLocks,
    /** host-local's lease directory. */
    private readonly dataDir: string,
    private readonly cniPath: string[],
  ) {}

  /** The network and its chain, checked before anything is made: plugins present, iptables, --ip. */
  prepare(n: ContainerNetwork): StoredNetwork {
    const net = this.store.get(n.name ?? DEFAULT_NETWORK);
    if (n.ip !== undefined) checkRequestedIp(net.info, n.ip);
    for (const p of net.list.plugins) findPlugin(p.type, this.cniPath);
    if (needsIptables(net.list)) requireIptables();
    if ((n.ports?.length ?? 0) > 0 && net.info.internal) {
      throw new BerthError('INVALID_ARGUMENT', `Network ${net.info.name} is internal: ports cannot be published from it`);
    }
    return net;
  }

  /** ADD of one network into rec's sandbox as `ifname`, recorded in rec (on disk too), then the
   *  network's hosts files; undone on failure. The caller holds the container's lock. */
  add(rec: AttachmentRecord, net: StoredNetwork, n: ContainerNetwork, ifname: string): EndpointInfo {
    const { info } = net;
    const conflist = runtimeConflist(net.list, this.dataDir);
    const args = ['IgnoreUnknown=1', ...(n.ip ? [`IP=${n.ip}`] : []), ...(n.mac ? [`MAC=${n.mac}`] : [])].join(';');
    return this.locks.network(info.name, () => {
      // host ports are host-wide: chosen and recorded (the pending record) under one lock of all networks
      const a = this.locks.ports((): NetworkAttachment => {
        const taken = this.records
          .list()
          .flatMap((r) => (r.containerId === rec.containerId ? [] : r.attachments.flatMap((x) => x.endpoint.ports)));
        const ports = assignHostPorts(n.ports ?? [], [...taken, ...hostBoundPorts()]);
        // portmap without mappings does nothing on ADD or DEL: leaving it out saves two plugin runs
        const chain = ports.length > 0 ? conflist : { ...conflist, plugins: conflist.plugins.filter((p) => p.type !== 'portmap') };
        const pending = {
          network: info.name,
          ifname,
          args,
          conflist: chain,
          result: { cniVersion: chain.cniVersion },
          endpoint: { network: info.name, ip: '', prefixLength: 0, mac: '', ports },
        };
        // recorded before ADD: if this process dies half-way, whoever sweeps next runs DEL
        rec.attachments.push(pending);
        this.records.write(rec);
        return pending;
      });
      try {
        a.result = addChain(a.conflist, { ...this.call(rec, a), netns: rec.netns });
        a.endpoint = { network: info.name, ...containerAddress(a.result, ifname), ports: a.endpoint.ports };
        this.records.write(rec);
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
        throw e;
      }
    });
  }

  /** DEL of one network; the caller holds the container's and the network's locks. The record is
   *  the caller's to update. */
  del(rec: AttachmentRecord, a: NetworkAttachment): void {
    const call = this.call(rec, a);
    if (isPinned(rec.netns)) delChain(a.conflist, { ...call, netns: rec.netns }, a.result);
    // an ADD that never finished: no address to rebuild a namespace for, a plain DEL
    else if (!a.endpoint.ip) delChain(a.conflist, call);
    // the namespace was lost (unmounted by someone else): a scratch one with the same interface
    else
      withScratchNetns(a.ifname, `${a.endpoint.ip}/${a.endpoint.prefixLength}`, (scratch) =>
        delChain(a.conflist, { ...call, netns: scratch }, a.result),
      );
  }

  /** CNI CHECK of a running container's networks. portmap is left out for a container without an
   *  IPv6 address: its CHECK then looks for ip6tables rules it never made (containernetworking/plugins#819). */
  check(rec: AttachmentRecord): void {
    for (const a of rec.attachments) {
      const ipv6 = (a.result.ips ?? []).some((i) => i.address.includes(':'));
      const list = ipv6 ? a.conflist : { ...a.conflist, plugins: a.conflist.plugins.filter((p) => p.type !== 'portmap') };
      checkChain(list, { ...this.call(rec, a), netns: rec.netns }, a.result);
    }
  }

  private call(rec: AttachmentRecord, a: NetworkAttachment): CniCall {
    return {
      containerId: rec.containerId,
      netns: '',
      ifname: a.ifname,
      args: a.args,
      runtimeConfig: {
        portMappings: a.endpoint.ports.map((p) => ({
          hostPort: p.hostPort,
          containerPort: p.containerPort,
          protocol: p.protocol,
          hostIP: p.hostIP,
        })),
      },
      cniPath: this.cniPath,
      label: rec.name,
    };
  }
}
