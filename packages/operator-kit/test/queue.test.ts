import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { exponentialDelay, JitteredBackoff, TokenBucket } from '../src/queue/backoff.js';
import { WorkQueue } from '../src/queue/queue.js';

describe('WorkQueue', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  test('a key added many times while waiting is handed out once', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 1000; i++) q.add('ns/a');
    q.add('ns/b');
    expect(q.depth).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
    expect(q.depth).toBe(0);
  });

  test('a key in flight is not handed to a second worker; re-added, it comes back after done', async () => {
    const q = new WorkQueue();
    q.add('k');
    expect(await q.get()).toBe('k');
    q.add('k');
    q.add('k');
    expect(q.depth).toBe(0); // waits for the first worker
    let second: string | undefined;
    void q.get().then((k) => {
      second = k;
    });
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done('k');
    await Promise.resolve();
    expect(second).toBe('k');
  });

  test('addAfter delays the key; the earliest pending delay wins', async () => {
    const q = new WorkQueue();
    q.addAfter('k', 10_000);
    q.addAfter('k', 2_000);
    q.addAfter('k', 5_000);
    jest.advanceTimersByTime(1_999);
    expect(q.depth).toBe(0);
    jest.advanceTimersByTime(1);
    expect(q.depth).toBe(1);
    await q.get();
    q.done('k');
    jest.advanceTimersByTime(20_000);
    expect(q.depth).toBe(0); // the later delays were folded into the first
  });

  test('errors back off exponentially per key; forget resets; other keys are not slowed', () => {
    const q = new WorkQueue({ baseDelayMs: 5, maxDelayMs: 1_000_000, qps: 1e9, burst: 1e9 });
    const delays = [1, 2, 3, 4, 5, 6].map(() => q.addRateLimited('bad'));
    expect(delays).toEqual([5, 10, 20, 40, 80, 160]);
    expect(q.addRateLimited('other')).toBe(5);
    q.forget('bad');
    expect(q.addRateLimited('bad')).toBe(5);
  });

  test('per-key backoff is capped', () => {
    const q = new WorkQueue({ baseDelayMs: 5, maxDelayMs: 1_000, qps: 1e9, burst: 1e9 });
    let last = 0;
    for (let i = 0; i < 40; i++) last = q.addRateLimited('k');
    expect(last).toBe(1_000);
  });

  test('the global bucket limits a storm of failing keys', () => {
    const q = new WorkQueue({ baseDelayMs: 5, qps: 10, burst: 100 });
    const delays = Array.from({ length: 150 }, (_, i) => q.addRateLimited(`k${i}`));
    expect(delays.slice(0, 100).every((d) => d === 5)).toBe(true);
    // past the burst, each extra key waits its turn at 10 per second
    expect(delays[100]).toBe(100);
    expect(delays[149]).toBe(5_000);
  });

  test('shutDown releases waiting workers and drained() waits for in-flight keys', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add('a');
    expect(await waiting).toBe('a');
    const idle = q.get();
    q.shutDown();
    expect(await idle).toBeUndefined();
    let drained = false;
    void q.drained().then(() => {
      drained = true;
    });
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done('a');
    await Promise.resolve();
    expect(drained).toBe(true);
    q.add('b');
    expect(q.depth).toBe(0);
  });

  test('backoff retries fire through the timers', async () => {
    const q = new WorkQueue({ baseDelayMs: 1_000, qps: 1e9, burst: 1e9 });
    q.addRateLimited('k');
    q.addRateLimited('k'); // second failure: 2 s, but the pending 1 s wins
    jest.advanceTimersByTime(999);
    expect(q.depth).toBe(0);
    jest.advanceTimersByTime(1);
    expect(await q.get()).toBe('k');
  });
});

describe('backoff maths', () => {
  test('exponentialDelay', () => {
    expect(exponentialDelay(0, 5, 100)).toBe(0);
    expect(exponentialDelay(1, 5, 100)).toBe(5);
    expect(exponentialDelay(3, 5, 100)).toBe(20);
    expect(exponentialDelay(10, 5, 100)).toBe(100);
  });

  test('jittered reconnect backoff grows, stays within [d/2, d], caps and resets after a healthy period', () => {
    const lows = new JitteredBackoff(800, 30_000, 120_000, () => 0);
    const highs = new JitteredBackoff(800, 30_000, 120_000, () => 1);
    const low = Array.from({ length: 8 }, () => lows.next(0));
    const high = Array.from({ length: 8 }, () => highs.next(0));
    expect(high).toEqual([800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
    expect(low).toEqual(high.map((d) => d / 2));
    highs.healthy(1_000);
    expect(highs.next(50_000)).toBe(30_000); // not healthy long enough
    highs.healthy(60_000);
    expect(highs.next(200_000)).toBe(800);
  });

  test('token bucket', () => {
    const b = new TokenBucket(2, 2, 0);
    expect([b.reserve(0), b.reserve(0), b.reserve(0), b.reserve(0)]).toEqual([0, 0, 500, 1000]);
    expect(b.reserve(10_000)).toBe(0);
  });
});
