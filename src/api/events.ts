/**
 * docker's events for the service. Every berth process appends to one journal
 * (src/runtime/events-journal.ts) where its operations happen, so /events (routes/system.ts,
 * through Berth.events()) shows what the CLI did and `berth events` what the service did. The
 * service journals here only what no operation of the runtime knows it did: a restart made of a
 * stop and a start with attaches, an archive extracted into a container.
 */
import type { Berth } from '../index';
import type { JournalEvent } from '../runtime/events-journal';

export interface DockerEvent extends JournalEvent {
  /** The pre-1.22 fields, still read by some clients. */
  status?: string;
  id?: string;
  from?: string;
}

/** A journal event with the legacy fields docker still sends for containers and images. */
export function withLegacyFields(e: JournalEvent): DockerEvent {
  if (e.Type !== 'container' && e.Type !== 'image') return e;
  const image = e.Actor.Attributes.image;
  return { status: e.Action, id: e.Actor.ID, ...(image ? { from: image } : {}), ...e };
}

export class ApiEvents {
  constructor(private readonly berth: Berth) {}

  /** A container event of the service's own, with docker's attributes (name, image, labels). */
  container(action: string, id: string, extra: Record<string, string> = {}): void {
    const c = this.berth.runtime.store.read(id);
    if (c) this.berth.runtime.events.container(action, c.config, extra);
    else this.berth.runtime.events.record('container', action, id, extra);
  }
}
