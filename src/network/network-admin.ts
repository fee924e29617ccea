/**
 * The network commands that act on sandboxes that exist: `network connect` and `disconnect` of a
 * running container, `network inspect` with its members, `network rm` of an unused network. The
 * caller (NetworkManager) sweeps dead sandboxes first where a stale member would mislead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import type { NetworkDrivers } from './network-driver';
import { syncHostsFiles } from './hosts-sync';
import type { NetworkLocks } from './network-locks';
import { DEFAULT_NETWORK, type NetworkStore } from './networks';
import { ownerAlive, type SandboxRecords } from './sandbox-records';
import type { ContainerNetwork, EndpointInfo, NetworkInfo } from './types';

/** `network inspect`: the network and its live containers with their endpoints on it. */
export type NetworkDetails = NetworkInfo & { containers: Array<{ id: string; name: string } & EndpointInfo> };

export class NetworkAdmin {
  constructor(
    private readonly store: NetworkStore,
    private readonly records: SandboxRecords,
    private readonly locks: NetworkLocks,
    private readonly cni: NetworkDrivers,
    /** host-local's lease directory. */
    private readonly dataDir: string,
  ) {}

  /** network connect: ADD of one more network into a running container's sandbox, as the first
   *  free ethN. */
  connect(containerId: string, network: ContainerNetwork): EndpointInfo {
    const net = this.cni.prepare(network);
    return this.locks.container(containerId, () => {
      const rec = this.records.read(containerId);
      if (!rec || !ownerAlive(rec))
        throw new BerthError('INVALID_STATE', `Container ${containerId.slice(0, 12)} is not running on a network`);
      if (rec.attachments.some((a) => a.network === net.info.name)) {
        throw new BerthError('INVALID_STATE', `Container ${rec.name} is already connected to network ${net.info.name}`);
      }
      let ifname = '';
      for (let i = 0; !ifname; i++) if (!rec.attachments.some((a) => a.ifname === `eth${i}`)) ifname = `eth${i}`;
      return this.cni.add(rec, net, network, ifname);
    });
  }

  /** network disconnect: DEL of one network of a running container. The attachment leaves the
   *  record even if DEL failed (what it could release, it did). */
  disconnect(containerId: string, network: string): void {
    this.locks.container(containerId, () => {
      const rec = this.records.read(containerId);
      const a = rec?.attachments.find((x) => x.network === network);
      if (!rec || !a)
        throw new BerthError('INVALID_STATE', `Container ${rec?.name ?? containerId.slice(0, 12)} is not connected to network ${network}`);
      this.locks.network(network, () => {
        try {
          this.cni.del(rec, a);
        } finally {
          this.records.write({ ...rec, attachments: rec.attachments.filter((x) => x !== a) });
          syncHostsFiles(this.records, network);
        }
      });
    });
  }

  networkInfo(name: string): NetworkDetails {
    const info = this.store.read(name === 'bridge' ? DEFAULT_NETWORK : name)?.info;
    if (!info) throw new BerthError('NETWORK_NOT_FOUND', `Network ${name} not found`);
    return {
      ...info,
      containers: this.records.members(info.name).map((m) => ({ id: m.record.containerId, name: m.record.name, ...m.endpoint })),
    };
  }

  /** network rm: refused while a container uses the network; the bridge and the leases go too. */
  removeNetwork(name: string): NetworkInfo {
    const n = name === 'bridge' ? DEFAULT_NETWORK : name;
    const users = this.records.members(n).map((m) => m.record.name);
    if (users.length > 0) {
      throw new BerthError(
        'NETWORK_IN_USE',
        `Network ${name} is in use by container${users.length > 1 ? 's' : ''} ${users.join(', ')}; stop or remove ${users.length > 1 ? 'them' : 'it'} (or berth network disconnect) first`,
      );
    }
    const info = this.locks.network(n, () => {
      const removed = this.store.remove(n);
      // the native driver's chains of the network (and any a crash left of its containers')
      if (removed.driver === 'bridge') this.cni.nativeDriver.rules.removeNetwork(removed);
      this.locks.removeNetworkLock(removed.name);
      return removed;
    });
    fs.rmSync(path.join(this.dataDir, info.name), { recursive: true, force: true });
    return info;
  }

  /**
   * Every network of the root, the default `berth` included (docker's `network prune` keeps its
   * default; a root being thrown away, a temporary one or a reset, must not keep its bridge): each
   * network no live container uses goes as with removeNetwork. Those that cannot go (in use) stay
   * and are named in one error, thrown after the others are gone.
   */
  removeAll(): NetworkInfo[] {
    const removed: NetworkInfo[] = [];
    const failures: unknown[] = [];
    for (const n of this.store.list()) {
      try {
        removed.push(this.removeNetwork(n.name));
      } catch (e) {
        failures.push(e);
      }
    }
    if (failures.length === 0) return removed;
    const first = failures[0];
    const messages = failures.map((e) => (e instanceof Error ? e.message : String(e))).join('; ');
    throw new BerthError(first instanceof BerthError ? first.code : 'NETWORK_ERROR', `Not every network was removed: ${messages}`, {
      cause: first,
    });
  }
}
