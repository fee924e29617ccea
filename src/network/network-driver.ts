/**
 * The two drivers of bridge networks behind one face: the native driver (native-bridge.ts, the
 * default) and CNI plugins (cni-attachment.ts) for networks created with --driver cni. A network's
 * driver is chosen from its conflist when a container joins it; an attachment is undone by the
 * driver that made it (its record says which), whatever happened to the network since.
 */
import type { CniAttachments } from './cni-attachment';
import { usesCni } from './config';
import type { NativeAttachments } from './native-bridge';
import type { StoredNetwork } from './networks';
import type { AttachmentRecord, NetworkAttachment } from './sandbox-records';
import type { ContainerNetwork, EndpointInfo } from './types';

export interface NetworkDriver {
  /** The network, checked before anything is made. */
  prepare(n: ContainerNetwork): StoredNetwork;
  /** One network into rec's sandbox as ifname, recorded in rec; undone on failure. */
  add(rec: AttachmentRecord, net: StoredNetwork, n: ContainerNetwork, ifname: string): EndpointInfo;
  /** Undoes one attachment; the caller holds the container's and network's locks. withSandbox:
   *  the sandbox goes too, so what the kernel removes with the namespace is left to it. */
  del(rec: AttachmentRecord, a: NetworkAttachment, opts?: { withSandbox?: boolean }): void;
  /** Throws when a running container's networking is not as add left it. */
  check(rec: AttachmentRecord): void;
}

export class NetworkDrivers implements NetworkDriver {
  constructor(
    private readonly cni: CniAttachments,
    readonly nativeDriver: NativeAttachments,
    private readonly get: (name: string) => StoredNetwork,
  ) {}

  prepare(n: ContainerNetwork): StoredNetwork {
    const net = this.get(n.name ?? 'berth');
    return usesCni(net.list) ? this.cni.prepare(n) : this.nativeDriver.prepare(n);
  }

  add(rec: AttachmentRecord, net: StoredNetwork, n: ContainerNetwork, ifname: string): EndpointInfo {
    return usesCni(net.list) ? this.cni.add(rec, net, n, ifname) : this.nativeDriver.add(rec, net, n, ifname);
  }

  del(rec: AttachmentRecord, a: NetworkAttachment, opts: { withSandbox?: boolean } = {}): void {
    if (a.native) this.nativeDriver.del(rec, a, opts);
    else this.cni.del(rec, a);
  }

  check(rec: AttachmentRecord): void {
    const natives = rec.attachments.filter((a) => a.native);
    const cnis = rec.attachments.filter((a) => !a.native);
    if (natives.length > 0) this.nativeDriver.check({ ...rec, attachments: natives });
    if (cnis.length > 0) this.cni.check({ ...rec, attachments: cnis });
  }
}
