/** The due-time timers (pure, fake timers): order, one time per key, the bounded pool, stop. */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { systemClock } from '../src/schedule/clock.js';
import { DueTimers, MAX_TIMER_MS } from '../src/schedule/timers.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const at = (ms: number) => new Date(T0 + ms);

interface Harness {
  timers: DueTimers;
  /** [key, time the pass started (ms after T0)] in start order. */
  started: [string, number][];
  errors: [string, unknown][];
  /** Resolves the oldest running pass of `key`. */
  finish(key: string): Promise<void>;
  maxRunning: number;
}

function harness(concurrency: number, onRun?: (key: string, h: Harness) => void): Harness {
  const open = new Map<string, (() => void)[]>();
  const h: Harness = {
    started: [],
    errors: [],
    maxRunning: 0,
    timers: undefined as unknown as DueTimers,
    async finish(key) {
      const list = open.get(key);
      const resolve = list?.shift();
      if (!resolve) throw new Error(`no running pass for ${key}`);
      resolve();
      await jest.advanceTimersByTimeAsync(0);
    },
  };
  h.timers = new DueTimers({
    clock: systemClock,
    concurrency,
    run: (key) => {
      h.started.push([key, Date.now() - T0]);
      h.maxRunning = Math.max(h.maxRunning, h.timers.running + 1);
      onRun?.(key, h);
      if (key.startsWith('fail')) return Promise.reject(new Error(`boom ${key}`));
      return new Promise<void>((resolve) => {
        const list = open.get(key) ?? [];
        list.push(resolve);
        open.set(key, list);
      });
    },
    onError: (key, err) => h.errors.push([key, err]),
  });
  return h;
}

beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('DueTimers', () => {
  it('runs each key at its due time, in due-time order, never early', async () => {
    const h = harness(10);
    h.timers.set('c', at(3_000));
    h.timers.set('a', at(1_000));
    h.timers.set('b', at(2_000));
    h.timers.set('a2', at(1_000));
    await jest.advanceTimersByTimeAsync(999);
    expect(h.started).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(h.started).toEqual([
      ['a', 1_000],
      ['a2', 1_000],
    ]);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(h.started.map(([k, t]) => `${k}@${t}`)).toEqual(['a@1000', 'a2@1000', 'b@2000', 'c@3000']);
    expect(h.timers.size).toBe(0);
  });

  it('keeps one time per key: the latest set wins, undefined or delete drops it', async () => {
    const h = harness(10);
    h.timers.set('k', at(1_000));
    h.timers.set('k', at(5_000)); // a later pass moved it
    h.timers.set('x', at(2_000));
    h.timers.set('x', undefined);
    h.timers.set('y', at(2_000));
    h.timers.delete('y');
    await jest.advanceTimersByTimeAsync(4_999);
    expect(h.started).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(h.started).toEqual([['k', 5_000]]);
  });

  it('runs at most `concurrency` passes at once; due keys wait in due order for a free slot', async () => {
    const h = harness(2);
    for (let i = 0; i < 5; i++) h.timers.set(`k${i}`, at(1_000 + i));
    await jest.advanceTimersByTimeAsync(1_010);
    expect(h.started.map(([k]) => k)).toEqual(['k0', 'k1']);
    expect(h.timers.waiting).toBe(3);
    // Other work yielding to due runs waits until none waits for a slot.
    let idle = false;
    void h.timers.idle(60_000).then(() => {
      idle = true;
    });
    await h.finish('k1');
    expect(h.started.map(([k]) => k)).toEqual(['k0', 'k1', 'k2']);
    await h.finish('k0');
    expect(idle).toBe(false); // k4 still waits
    await h.finish('k2');
    expect(idle).toBe(true);
    await h.finish('k3');
    await h.finish('k4');
    expect(h.started.map(([k]) => k)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    expect(h.maxRunning).toBe(2);
    expect(h.timers.running).toBe(0);
    // ... and for at most maxWaitMs when the pool stays saturated.
    for (let i = 0; i < 3; i++) h.timers.set(`m${i}`, at(20_000));
    await jest.advanceTimersByTimeAsync(20_000 - 1_010);
    expect(h.timers.waiting).toBe(1);
    let gaveUp = false;
    void h.timers.idle(2_000).then(() => {
      gaveUp = true;
    });
    await jest.advanceTimersByTimeAsync(1_999);
    expect(gaveUp).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(gaveUp).toBe(true);
  });

  it('skips a due key that was set again before its pass started (a newer pass decided)', async () => {
    const h = harness(1);
    h.timers.set('busy', at(1_000));
    h.timers.set('k', at(1_000));
    await jest.advanceTimersByTimeAsync(1_000);
    expect(h.started.map(([k]) => k)).toEqual(['busy']);
    h.timers.set('k', at(9_000)); // e.g. a queue pass for k ran meanwhile
    await h.finish('busy');
    expect(h.started.map(([k]) => k)).toEqual(['busy']);
    await jest.advanceTimersByTimeAsync(8_000);
    expect(h.started.map(([k, t]) => `${k}@${t}`)).toEqual(['busy@1000', 'k@9000']);
  });

  it('a key due again while its pass runs runs once more afterwards, unless that pass set a time', async () => {
    const h = harness(5);
    h.timers.set('k', at(1_000));
    await jest.advanceTimersByTimeAsync(1_000);
    h.timers.set('k', at(1_500)); // due again (e.g. a deadline) while the first pass runs
    await jest.advanceTimersByTimeAsync(500);
    expect(h.started).toHaveLength(1);
    await h.finish('k');
    expect(h.started.map(([k, t]) => `${k}@${t}`)).toEqual(['k@1000', 'k@1500']);

    // The same, but the running pass sets the next time itself: no extra run.
    const g = harness(5, (key, self) => {
      if (self.started.length === 1) self.timers.set(key, at(60_000));
    });
    g.timers.set('k', at(1_000));
    await jest.advanceTimersByTimeAsync(1_000);
    await g.finish('k');
    expect(g.started).toHaveLength(1);
    expect(g.timers.get('k')).toEqual(at(60_000));
  });

  it('re-arms past MAX_TIMER_MS for far times, reports failed passes, and stops', async () => {
    const h = harness(3);
    const far = 3 * MAX_TIMER_MS + 123;
    h.timers.set('far', at(far));
    h.timers.set('fail-1', at(10));
    await jest.advanceTimersByTimeAsync(10);
    expect(h.errors.map(([k, e]) => `${k}: ${(e as Error).message}`)).toEqual(['fail-1: boom fail-1']);
    await jest.advanceTimersByTimeAsync(far - 11);
    expect(h.started.map(([k]) => k)).toEqual(['fail-1']);
    await jest.advanceTimersByTimeAsync(1);
    expect(h.started.map(([k, t]) => `${k}@${t}`)).toEqual(['fail-1@10', `far@${far}`]);

    h.timers.set('late', at(far + 1_000));
    let stopped = false;
    const stopping = h.timers.stop().then(() => {
      stopped = true;
    });
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false); // waits for the pass in flight
    await h.finish('far');
    await stopping;
    h.timers.set('after', at(far + 2_000));
    await jest.advanceTimersByTimeAsync(5_000);
    expect(h.started.map(([k]) => k)).toEqual(['fail-1', 'far']);
    expect(h.timers.size).toBe(0);
  });
});
