/**
 * docker's /events: what the service did itself (create, start, destroy, pull, tag, network
 * connect...) is reported as it happens; what happens elsewhere (a detached container's process
 * exiting under its shim, a CLI command) is seen by watching the containers' states while a
 * client listens. Each event is in docker's shape (Type, Action, Actor, time, timeNano).
 */
import type { Berth } from '../index';
import type { ContainerEvent } from '../runtime/events';

export interface DockerEvent {
  Type: 'container' | 'image' | 'network' | 'volume';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  /** The pre-1.22 fields, still read by some clients. */
  status?: string;
  id?: string;
  from?: string;
}

type Listener = (e: DockerEvent) => void;

/** How many past events /events?since= can replay. */
const KEPT = 1000;

export class ApiEvents {
  private readonly listeners = new Set<Listener>();
  private readonly past: DockerEvent[] = [];
  private stopWatch: (() => void) | undefined;

  constructor(private readonly berth: Berth) {}

  emit(type: DockerEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): void {
    const nanos = BigInt(Date.now()) * 1_000_000n;
    const e: DockerEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nanos / 1_000_000_000n),
      timeNano: Number(nanos),
      ...(type === 'container' || type === 'image' ? { status: action, id, ...(attributes.image ? { from: attributes.image } : {}) } : {}),
    };
    this.past.push(e);
    if (this.past.length > KEPT) this.past.shift();
    for (const l of this.listeners) l(e);
  }

  /** A container event of the service's own, with docker's attributes (name, image). */
  container(action: string, id: string, extra: Record<string, string> = {}): void {
    let attrs: Record<string, string> = {};
    try {
      const c = this.berth.runtime.store.read(id);
      if (c) attrs = { image: c.config.image, name: c.config.name, ...(c.config.labels ?? {}) };
    } catch {
      // removed meanwhile: the id is enough
    }
    this.emit('container', action, id, { ...attrs, ...extra });
  }

  /** Before a destroy: the die of an exit the watcher had no time to see (a container removed
   *  within its poll interval), so that every start is followed by a die. */
  dieBeforeRemoval(id: string, exitCode: number | undefined): void {
    const mine = this.past.filter((e) => e.Actor.ID === id && (e.Action === 'start' || e.Action === 'die'));
    if (mine.length && mine[mine.length - 1].Action === 'start') this.container('die', id, { exitCode: String(exitCode ?? 0) });
  }

  /** Events at or after `since` (seconds) that were kept, oldest first. */
  history(sinceSeconds: number, untilSeconds = Infinity): DockerEvent[] {
    return this.past.filter((e) => e.timeNano / 1e9 >= sinceSeconds && e.timeNano / 1e9 <= untilSeconds);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    if (!this.stopWatch) this.stopWatch = this.berth.watch((e) => this.fromWatch(e), { intervalMs: 100 });
    return () => {
      this.listeners.delete(l);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** State changes seen by watching: start is reported by the service's own start when it did it. */
  private fromWatch(e: ContainerEvent): void {
    const recent = this.past.slice(-20).some((p) => p.Actor.ID === e.id && p.Action === e.type && Date.now() - p.timeNano / 1e6 < 1000);
    if (recent) return;
    const action = e.type === 'health_status' ? `health_status: ${e.health}` : e.type;
    if (e.type === 'exit') return; // docker has no "exit": die carries the exit code
    this.container(action, e.id, e.exitCode === undefined ? {} : { exitCode: String(e.exitCode) });
  }

  stop(): void {
    this.stopWatch?.();
    this.stopWatch = undefined;
  }
}
