/**
 * docker's /events for the service: the events journal every berth process appends to
 * (src/runtime/events-journal.ts), so that what the CLI does shows in /events and what the
 * service does shows in `berth events`. The runtime operations journal themselves; the routes'
 * own calls of emit/container are no-ops for those actions (no duplicates) and journal only what
 * the runtime does not know it did (extract-to-dir of an archive upload, a network prune...).
 */
import * as fs from 'node:fs';
import type { Berth } from '../index';
import { journalFiles, type EventType, type JournalEvent } from '../runtime/events-journal';
import { readEvents } from '../runtime/events-journal-read';

export interface DockerEvent extends JournalEvent {
  /** The pre-1.22 fields, still read by some clients. */
  status?: string;
  id?: string;
  from?: string;
}

type Listener = (e: DockerEvent) => void;

/** Actions the runtime, image, network and volume code journal where they happen. */
const JOURNALED: Record<EventType, RegExp> = {
  container: /^(create|start|die|oom|kill|stop|destroy|update|exec_create|exec_start|exec_die)(:|$)/,
  image: /^(pull|push|tag|untag|delete|import|load|save|prune)$/,
  network: /^(create|connect|disconnect|destroy)$/,
  volume: /^(create|mount|destroy)$/,
};

/** A journal event with the legacy fields docker still sends for containers and images. */
export function withLegacyFields(e: JournalEvent): DockerEvent {
  if (e.Type !== 'container' && e.Type !== 'image') return e;
  const image = e.Actor.Attributes.image;
  return { status: e.Action, id: e.Actor.ID, ...(image ? { from: image } : {}), ...e };
}

export class ApiEvents {
  private readonly listeners = new Set<Listener>();
  private follower: AbortController | undefined;

  constructor(private readonly berth: Berth) {}

  /** An event of the service's own; journaled unless the operation journals it itself. */
  emit(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): void {
    if (JOURNALED[type].test(action)) return;
    this.berth.runtime.events.record(type, action, id, attributes);
  }

  /** A container event of the service's own, with docker's attributes (name, image, labels). */
  container(action: string, id: string, extra: Record<string, string> = {}): void {
    if (JOURNALED.container.test(action)) return;
    const c = this.berth.runtime.store.read(id);
    if (c) this.berth.runtime.events.container(action, c.config, extra);
    else this.berth.runtime.events.record('container', action, id, extra);
  }

  /** Was: the die a poll had no time to see before a destroy. The shim journals every die now. */
  dieBeforeRemoval(_id: string, _exitCode: number | undefined): void {}

  /** Journaled events between `since` and `until` (seconds), oldest first. */
  history(sinceSeconds: number, untilSeconds = Infinity): DockerEvent[] {
    const { previous, current } = journalFiles(this.berth.runRoot);
    const out: DockerEvent[] = [];
    for (const file of [previous, current]) {
      let text = '';
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        if (!line) continue;
        try {
          const e = JSON.parse(line) as JournalEvent;
          const t = e.timeNano / 1e9;
          if (t >= sinceSeconds && t <= untilSeconds) out.push(withLegacyFields(e));
        } catch {
          // a torn line
        }
      }
    }
    return out;
  }

  /** Live events to `l` until the returned function is called; one follower of the journal
   *  serves every listener. */
  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    if (!this.follower) this.follow();
    return () => {
      this.listeners.delete(l);
      if (this.listeners.size === 0) this.stop();
    };
  }

  private follow(): void {
    const follower = new AbortController();
    this.follower = follower;
    void (async () => {
      try {
        for await (const e of readEvents(this.berth.runRoot, { signal: follower.signal })) {
          const d = withLegacyFields(e);
          for (const l of this.listeners) l(d);
        }
      } catch {
        // the run root went away: no more events to follow
      }
    })();
  }

  stop(): void {
    this.follower?.abort();
    this.follower = undefined;
  }
}
