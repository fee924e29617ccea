/**
 * Containers on networks: a pinned network namespace per container (its sandbox), CNI ADD of each
 * of its networks into it before the container starts, DEL when it is gone. NetworkManager is what
 * the runtime and the API use; this file holds the sandbox's life (made, handed to its owner,
 * released, swept) and delegates the rest:
 *   sandbox-records.ts  the records        network-locks.ts  the locks and their order
 *   netns.ts            the namespaces     cni-attachment.ts ADD/DEL/CHECK of one network
 *   hosts-sync.ts       /etc/hosts of a network's members
 *   network-admin.ts    network connect, disconnect, inspect, rm
 *
 * The sandbox is made before the container's process exists: the process joins it
 * (SpawnPlan.netnsPath), so its network is in place before its command runs, a detached
 * container's restarts (by its shim) keep it, `network connect` can add interfaces to it, and DEL
 * always finds the interfaces it deletes (the bridge plugin removes its masquerading rule only
 * then: containernetworking/plugins#810).
 *
 * Each sandbox's record names its owner: the berth process while it starts the container, then
 * the container's process for a foreground run or its shim for a detached one. The record is
 * written before the namespace is made and removed after it is gone, so a crash at any point
 * leaves a record whose owner is dead: the next sweep (ps, run, network commands) runs DEL and
 * unpins the namespace. Records live beside host-local's leases and, like them and the veths and
 * iptables rules they describe, are gone after a reboot.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { native } from '../native';
import { processStartTime } from '../util/proc';
import { DEFAULT_CNI_PATH, findTool } from './cni';
import { CniAttachments } from './cni-attachment';
import { syncHostsFiles } from './hosts-sync';
import { NetworkAdmin, type NetworkDetails } from './network-admin';
import { NetworkLocks } from './network-locks';
import { NativeAttachments, removeLeakedVeths } from './native-bridge';
import { NetworkDrivers } from './network-driver';
import { NetworkStore } from './networks';
import { pinnedContainerIds } from './netns';
import { ownerAlive, SandboxRecords, type AttachmentRecord } from './sandbox-records';
import type { ContainerNetwork, CreateNetworkOptions, EndpointInfo, HostEntry, NetworkInfo } from './types';

export interface AttachSpec {
  containerId: string;
  name: string;
  hostname: string;
  containerDir: string;
  /** The container's networks, the primary first. */
  networks: ContainerNetwork[];
  addHosts: HostEntry[];
  /** --network-alias: more names of the container on its primary network. */
  aliases?: string[];
}

export class NetworkManager {
  readonly store: NetworkStore;
  /** host-local's lease directory. */
  readonly dataDir: string;
  private readonly records: SandboxRecords;
  private readonly locks: NetworkLocks;
  private readonly netnsDir: string;
  private readonly cni: NetworkDrivers;
  private readonly admin: NetworkAdmin;

  /**
   * `adopt`: for a container whose recorded owner is gone, a live process that runs it now, if any
   * (its shim): a berth killed between starting a detached container and handing its sandbox to the
   * shim leaves the sandbox to the shim instead of to the next sweep.
   */
  constructor(
    root: string,
    runRoot: string,
    cniPath?: string[],
    private readonly adopt: (containerId: string) => number | undefined = () => undefined,
  ) {
    this.store = new NetworkStore(root);
    this.records = new SandboxRecords(path.join(runRoot, 'cni', 'attachments'));
    this.locks = new NetworkLocks(path.join(runRoot, 'cni', 'locks'));
    this.dataDir = path.join(runRoot, 'cni', 'networks');
    this.netnsDir = path.join(runRoot, 'netns');
    const plugins = cniPath ?? (process.env.BERTH_CNI_PATH ? process.env.BERTH_CNI_PATH.split(':') : DEFAULT_CNI_PATH);
    this.cni = new NetworkDrivers(
      new CniAttachments(this.store, this.records, this.locks, this.dataDir, plugins),
      new NativeAttachments(this.store, this.records, this.locks, this.dataDir),
      (name) => this.store.get(name),
    );
    this.admin = new NetworkAdmin(this.store, this.records, this.locks, this.cni, this.dataDir);
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
    const nets = spec.networks.map((n) => this.cni.prepare(n));
    const netns = path.join(this.netnsDir, spec.containerId);
    return this.locks.container(spec.containerId, () => {
      // a live owner: another process runs (or is starting) this very container
      if (this.records.read(spec.containerId)) {
        throw new BerthError('INVALID_STATE', `Container ${spec.name} is already running or being started by another berth process`);
      }
      const rec: AttachmentRecord = {
        containerId: spec.containerId,
        name: spec.name,
        hostname: spec.hostname,
        hostsFile: path.join(spec.containerDir, 'hosts'),
        addHosts: spec.addHosts,
        ...(spec.aliases ? { aliases: spec.aliases } : {}),
        pid: process.pid,
        pidStartTime: processStartTime(process.pid),
        netns,
        attachments: [],
      };
      // recorded before anything exists: if this process dies half-way, whoever sweeps next cleans up
      this.records.write(rec);
      fs.mkdirSync(this.netnsDir, { recursive: true, mode: 0o700 });
      try {
        native().createNetns(netns);
        for (const [i, net] of nets.entries()) this.cni.add(rec, net, spec.networks[i], `eth${i}`);
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
    this.locks.container(containerId, () => {
      const rec = this.records.read(containerId);
      if (!rec) throw new BerthError('INTERNAL', `The network of container ${containerId.slice(0, 12)} vanished while it started`);
      const owned = { ...rec, pid, pidStartTime: processStartTime(pid) };
      this.records.write(owned);
      if (!ownerAlive(owned)) this.releaseLocked(owned);
    });
  }

  /**
   * CNI DEL of every network of a container and its sandbox gone, if it has one: idempotent, and
   * safe to race with another release of it (the record is taken under the container's lock).
   * `ifOwnerGone`: only if the record's owner is dead when the lock is held (a sweep must never
   * take down a sandbox a new start of the container made since it looked).
   */
  release(containerId: string, opts: { ifOwnerGone?: boolean } = {}): void {
    if (!this.records.read(containerId)) return;
    this.locks.container(containerId, () => {
      const rec = this.records.read(containerId);
      if (!rec || (opts.ifOwnerGone && ownerAlive(rec))) return;
      const heir = opts.ifOwnerGone ? this.adopt(containerId) : undefined;
      if (heir !== undefined) {
        this.records.write({ ...rec, pid: heir, pidStartTime: processStartTime(heir) });
        return;
      }
      this.releaseLocked(rec);
      this.locks.removeContainerLock(containerId);
    });
  }

  /** Release of every sandbox whose owner is gone (a container that exited while no berth process
   *  watched it, a shim that ended, a berth killed while it started one), and of namespaces no
   *  record owns. */
  sweep(): void {
    for (const r of this.records.list()) {
      if (!ownerAlive(r)) {
        try {
          this.release(r.containerId, { ifOwnerGone: true });
        } catch {
          /* reported by the next command that needs it */
        }
      }
    }
    // veths of this root's bridges whose sandbox record is gone (a release that failed half-way)
    const records = this.records.list();
    removeLeakedVeths(
      () => new Set(this.store.list().map((n) => n.bridge)),
      (id10) => records.some((r) => r.containerId.startsWith(id10)),
    );
    // a record is written before its namespace is made and removed after it is gone: one without
    // a record is debris, unless a start made it between our two reads (so: checked under its lock)
    for (const id of pinnedContainerIds(this.netnsDir)) {
      if (this.records.read(id)) continue;
      try {
        this.locks.container(id, () => {
          if (!this.records.read(id)) native().removeNetns(path.join(this.netnsDir, id));
        });
      } catch {
        /* the next sweep */
      }
    }
  }

  /** CNI CHECK of a running container's networks. */
  check(containerId: string): void {
    const rec = this.records.read(containerId);
    if (!rec || rec.attachments.length === 0)
      throw new BerthError('INVALID_STATE', `Container ${containerId.slice(0, 12)} is not attached to a network`);
    this.cni.check(rec);
  }

  /** A live container's primary endpoint, if it is attached. */
  /** docker rename: the sandbox record names the container anew and every network it is on
   *  rewrites its members' /etc/hosts, so peers resolve the new name (its own hostname stays). */
  rename(containerId: string, name: string): void {
    const networks = this.locks.container(containerId, () => {
      const rec = this.records.read(containerId);
      if (!rec || rec.name === name) return [];
      this.records.write({ ...rec, name });
      return rec.attachments.map((a) => a.network);
    });
    for (const network of networks) this.locks.network(network, () => syncHostsFiles(this.records, network));
  }

  endpoint(containerId: string): EndpointInfo | undefined {
    return this.endpoints(containerId)[0];
  }

  /** A live container's endpoints, the primary first. */
  endpoints(containerId: string): EndpointInfo[] {
    const r = this.records.read(containerId);
    return r && ownerAlive(r) ? r.attachments.filter((a) => a.endpoint.ip).map((a) => a.endpoint) : [];
  }

  read(containerId: string): AttachmentRecord | undefined {
    return this.records.read(containerId);
  }

  /** A new network; the native driver's rules of a non-internal one are installed now (once per
   *  network, not per container), where iptables is there (else a container's start says so). */
  createNetwork(opts: CreateNetworkOptions): NetworkInfo {
    const info = this.store.create(opts);
    if (info.driver === 'bridge' && !info.internal && findTool('iptables-restore')) {
      try {
        this.locks.network(info.name, () => this.cni.nativeDriver.rules.ensureNetwork(info));
      } catch (e) {
        this.cni.nativeDriver.rules.removeNetwork(info);
        this.store.remove(info.name);
        throw e;
      }
    }
    return info;
  }

  connect(containerId: string, network: ContainerNetwork): EndpointInfo {
    return this.admin.connect(containerId, network);
  }

  disconnect(containerId: string, network: string): void {
    this.admin.disconnect(containerId, network);
  }

  networkInfo(name: string): NetworkDetails {
    this.sweep();
    return this.admin.networkInfo(name);
  }

  removeNetwork(name: string): NetworkInfo {
    this.sweep();
    return this.admin.removeNetwork(name);
  }

  /** Every network of the root removed, the default one too (see NetworkAdmin.removeAll), after
   *  dead containers' sandboxes are released: their DEL takes their veths and iptables rules. */
  removeAllNetworks(): NetworkInfo[] {
    this.sweep();
    return this.admin.removeAll();
  }

  /** DEL of every network, namespace unpinned, record removed; the caller holds the container lock. */
  private releaseLocked(rec: AttachmentRecord): void {
    let first: unknown;
    for (const a of [...rec.attachments].reverse()) {
      try {
        this.locks.network(a.network, () => this.cni.del(rec, a, { withSandbox: true }));
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
    this.records.remove(rec.containerId);
    for (const a of rec.attachments) {
      try {
        this.locks.network(a.network, () => syncHostsFiles(this.records, a.network));
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  }
}
