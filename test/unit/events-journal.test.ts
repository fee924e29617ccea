// The events journal's pure parts and its file handling on a temp directory (no root, no
// containers): docker's line shape, the shim's template, filters, the text line, since/until times,
// reading the past across a rotation and following appends.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventJournal, eventLine, journalFiles, shimEventTemplate, type JournalEvent } from '../../src/runtime/events-journal';
import { eventMatches, eventText, eventTimeText, parseEventFilters, parseEventTime } from '../../src/runtime/events-journal-filter';
import { readEvents } from '../../src/runtime/events-journal-read';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tempRunRoot(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-journal-'));
  dirs.push(d);
  return d;
}

const web = (action: string, attrs: Record<string, string> = {}, timeNano = 1_796_310_193_031_687_168): JournalEvent => ({
  Type: 'container',
  Action: action,
  Actor: { ID: 'a'.repeat(64), Attributes: { image: 'busybox', name: 'web', ...attrs } },
  scope: 'local',
  time: Math.floor(timeNano / 1e9),
  timeNano,
});

describe('journal lines', () => {
  it("are one line of docker's event shape", () => {
    const line = eventLine('container', 'start', 'abc', { image: 'busybox', name: 'web' }, 1_700_000_000_123_456_789n);
    expect(line.endsWith('}\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(JSON.parse(line)).toEqual({
      Type: 'container',
      Action: 'start',
      Actor: { ID: 'abc', Attributes: { image: 'busybox', name: 'web' } },
      scope: 'local',
      time: 1_700_000_000,
      timeNano: expect.any(Number),
    });
    // exact in the file (JSON.parse rounds it to a double)
    expect(line).toContain('"time":1700000000,"timeNano":1700000000123456789}');
  });

  it('give the shim a template whose only % are its placeholders', () => {
    const t = shimEventTemplate('die', 'abc', { name: 'web', 'odd%EXIT%label': '100%' }, true);
    expect(t).not.toContain('\n');
    expect(t.match(/%[A-Z]+%/g)).toEqual(['%EXIT%', '%TIME%', '%NANO%']);
    // what native/shim/events.cc does
    const filled = t.replace('%EXIT%', '137').replace('%TIME%', '1700000000').replace('%NANO%', '1700000000000000001');
    const e = JSON.parse(filled) as JournalEvent;
    expect(e.Actor.Attributes).toEqual({ name: 'web', 'odd%EXIT%label': '100%', exitCode: '137' });
    expect(e.Action).toBe('die');
    expect(e.time).toBe(1_700_000_000);
  });

  it('template without an exit code and without attributes', () => {
    const t = shimEventTemplate('start', 'abc', {}, false);
    expect(JSON.parse(t.replace('%TIME%', '1').replace('%NANO%', '1000000000')).Actor).toEqual({ ID: 'abc', Attributes: {} });
    const d = shimEventTemplate('die', 'abc', {}, true);
    expect(JSON.parse(d.replace('%EXIT%', '0').replace('%TIME%', '1').replace('%NANO%', '1')).Actor.Attributes).toEqual({ exitCode: '0' });
  });
});

describe('filters', () => {
  it("parse docker's k=v and refuse unknown keys", () => {
    expect(parseEventFilters(['type=container', 'event=die', 'event=start'])).toEqual({ type: ['container'], event: ['die', 'start'] });
    expect(() => parseEventFilters(['colour=red'])).toThrow(/invalid filter .colour./);
    expect(() => parseEventFilters(['type'])).toThrow(/Expected a filter like type=container/);
  });

  it('OR one key, AND the keys', () => {
    const die = web('die', { exitCode: '3' });
    expect(eventMatches(die, { type: ['container'], event: ['start', 'die'] })).toBe(true);
    expect(eventMatches(die, { type: ['image'] })).toBe(false);
    expect(eventMatches(die, { container: ['web'] })).toBe(true);
    expect(eventMatches(die, { container: ['aaaa'] })).toBe(true);
    expect(eventMatches(die, { container: ['db'] })).toBe(false);
    expect(eventMatches(die, { image: ['busybox'] })).toBe(true);
    expect(eventMatches(web('exec_start: sh -c true'), { event: ['exec_start'] })).toBe(true);
    expect(eventMatches(die, { label: ['exitCode=3'] })).toBe(true);
    expect(eventMatches(die, { label: ['exitCode=4'] })).toBe(false);
  });
});

describe('text and times', () => {
  it("print docker's text line, attributes sorted", () => {
    expect(eventText(web('die', { exitCode: '137' }))).toBe(
      `2026-12-03T15:03:13.031687168Z container die ${'a'.repeat(64)} (exitCode=137, image=busybox, name=web)`,
    );
    expect(eventTimeText(1_000_000_000_000_000_005n)).toBe('2001-09-09T01:46:40.000000005Z');
  });

  it("read docker's since/until forms", () => {
    expect(parseEventTime('1700000000', '--since')).toBe(1_700_000_000_000_000_000n);
    expect(parseEventTime('1700000000.5', '--since')).toBe(1_700_000_000_500_000_000n);
    expect(parseEventTime('2023-11-14T22:13:20.123456789Z', '--since')).toBe(1_700_000_000_123_456_789n);
    expect(parseEventTime('10m', '--since', 1_700_000_600_000)).toBe(1_700_000_000_000_000_000n);
    expect(() => parseEventTime('yesterday', '--until')).toThrow(/for --until but received "yesterday"/);
  });
});

describe('the journal on disk', () => {
  it('replays the past from the previous file on, after rotations', async () => {
    const runRoot = tempRunRoot();
    const journal = new EventJournal(runRoot, { maxBytes: 600 });
    for (let i = 0; i < 6; i++) journal.record('volume', 'create', `v${i}`, { driver: 'local' });
    const files = journalFiles(runRoot);
    expect(fs.existsSync(files.previous)).toBe(true);
    const seen: string[] = [];
    for await (const e of readEvents(runRoot, { since: 0n, pastOnly: true })) seen.push(e.Actor.ID);
    // a bounded journal: the oldest may be gone, what is kept is in order and ends with the newest
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual([...seen].sort());
    expect(seen[seen.length - 1]).toBe('v5');
  });

  it('never throws, even when the run root cannot hold it', () => {
    const runRoot = tempRunRoot();
    fs.writeFileSync(path.join(runRoot, 'events'), 'a file where the directory should be');
    expect(() => new EventJournal(runRoot).record('container', 'start', 'x')).not.toThrow();
  });

  it('follows appends across a rotation, and skips a torn line', async () => {
    const runRoot = tempRunRoot();
    const journal = new EventJournal(runRoot, { maxBytes: 400 });
    journal.record('volume', 'create', 'before');
    const stop = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const e of readEvents(runRoot, { signal: stop.signal })) {
        seen.push(e.Actor.ID);
        if (seen.length === 8) stop.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    fs.appendFileSync(journalFiles(runRoot).current, '{"Type":"volume","Act\n');
    for (let i = 0; i < 8; i++) {
      journal.record('volume', 'create', `live${i}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await reading;
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `live${i}`));
  });

  it('ends at until', async () => {
    const runRoot = tempRunRoot();
    const t0 = Date.now();
    const until = BigInt(t0 + 300) * 1_000_000n;
    for await (const e of readEvents(runRoot, { until })) expect(e).toBeUndefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
