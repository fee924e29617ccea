import { afterEach, describe, expect, it, vi } from 'vitest';
import { containerEvents, stateChanges, watchContainers, type ContainerEvent } from '../../src/runtime/events';
import type { ContainerInfo, ContainerState } from '../../src/runtime/types';

const created: ContainerState = { status: 'created' };
const running = (pid: number): ContainerState => ({ status: 'running', pid, pidStartTime: pid * 10 });
const exited = (exitCode: number, oomKilled = false): ContainerState => ({ status: 'exited', pid: 1, exitCode, oomKilled });

function container(id: string, state: ContainerState): ContainerInfo {
  return { config: { id, name: `name-${id}` } as ContainerInfo['config'], state };
}

describe('stateChanges', () => {
  it('reports a start when a container begins to run, also one seen for the first time', () => {
    expect(stateChanges(created, running(5))).toEqual([{ type: 'start' }]);
    expect(stateChanges(undefined, running(5))).toEqual([{ type: 'start' }]);
    expect(stateChanges(exited(0), running(5))).toEqual([{ type: 'start' }]);
  });

  it('reports die, exit and their code when a running container exits', () => {
    expect(stateChanges(running(5), exited(3))).toEqual([
      { type: 'die', exitCode: 3 },
      { type: 'exit', exitCode: 3 },
    ]);
  });

  it('puts oom between die and exit for a container the OOM killer ended', () => {
    expect(stateChanges(running(5), exited(137, true)).map((e) => e.type)).toEqual(['die', 'oom', 'exit']);
  });

  it('reads a new pid while running as a restart that happened between two looks: die, then start', () => {
    expect(stateChanges(running(5), running(6))).toEqual([{ type: 'die' }, { type: 'start' }]);
  });

  it('reports nothing when nothing changed, or for an exit it never saw running', () => {
    expect(stateChanges(running(5), running(5))).toEqual([]);
    expect(stateChanges(created, created)).toEqual([]);
    expect(stateChanges(exited(0), exited(0))).toEqual([]);
    expect(stateChanges(undefined, exited(1))).toEqual([]);
    expect(stateChanges(created, exited(1))).toEqual([]);
  });
});

describe('containerEvents', () => {
  const at = () => '2026-01-01T00:00:00.000Z';

  it('names each event after its container, with the time, and the exit code only where there is one', () => {
    const seen = new Map<string, ContainerState>([['a', running(5)]]);
    expect(containerEvents(seen, [container('a', exited(0))], at)).toEqual([
      { type: 'die', id: 'a', name: 'name-a', exitCode: 0, time: at() },
      { type: 'exit', id: 'a', name: 'name-a', exitCode: 0, time: at() },
    ]);
    const [start] = containerEvents(seen, [container('a', running(7))], at);
    expect(start).toEqual({ type: 'start', id: 'a', name: 'name-a', time: at() });
    expect('exitCode' in start).toBe(false);
  });

  it('remembers the states it saw, so a change is reported once', () => {
    const seen = new Map<string, ContainerState>();
    expect(containerEvents(seen, [container('a', running(5))], at).map((e) => e.type)).toEqual(['start']);
    expect(containerEvents(seen, [container('a', running(5))], at)).toEqual([]);
    expect(seen.get('a')).toEqual(running(5));
  });

  it('reports the containers in the order listed', () => {
    const seen = new Map<string, ContainerState>([
      ['a', running(1)],
      ['b', created],
    ]);
    const events = containerEvents(seen, [container('a', exited(2)), container('b', running(3))], at);
    expect(events.map((e) => `${e.id}:${e.type}`)).toEqual(['a:die', 'a:exit', 'b:start']);
  });
});

describe('watchContainers', () => {
  afterEach(() => vi.useRealTimers());

  it('takes the states at the call as the baseline and reports changes at each poll until stopped', () => {
    vi.useFakeTimers();
    let list = [container('a', running(5)), container('b', created)];
    const events: ContainerEvent[] = [];
    const stop = watchContainers(
      () => list,
      (e) => events.push(e),
      100,
    );
    vi.advanceTimersByTime(100);
    expect(events).toEqual([]); // already running at the call: no start

    list = [container('a', exited(1)), container('b', running(9))];
    vi.advanceTimersByTime(99);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(events.map((e) => `${e.id}:${e.type}`)).toEqual(['a:die', 'a:exit', 'b:start']);

    stop();
    list = [container('a', running(6)), container('b', exited(0))];
    vi.advanceTimersByTime(1000);
    expect(events).toHaveLength(3);
  });
});
