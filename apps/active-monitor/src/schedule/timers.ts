/**
 * Due-time timers for HealthChecks: a min-heap keyed by due time (schedule-clock milliseconds), ONE
 * pending time per key, and a pool of at most `concurrency` passes running at once.
 *
 * Why not the work queue's requeue-after: a due run would then wait behind every queued reconcile
 * (Workflow completions, spec changes), and its drift would grow with the queue. Here due keys are
 * run in due-time order by their own pool, so the only wait is for a free slot in that pool.
 *
 * - `set(key, at)` replaces the key's pending time (the latest pass saw the latest state, so its
 *   answer wins); `set(key, undefined)` or `delete(key)` drops it.
 * - One OS timer, armed for the earliest entry (at most {@link MAX_TIMER_MS} ahead, then re-armed, so
 *   a far cron slot or a jump of an injected clock is noticed).
 * - A key that was set again after it came due, but before its pass started, is skipped: the newer
 *   `set` came from a pass that already looked at it.
 * - `stop()` drops everything and waits for the passes in flight.
 */
import type { Clock } from './clock.js';

export const MAX_TIMER_MS = 60_000;

export interface DueTimersOptions {
  clock: Clock;
  /** Passes running at once; at least 1. */
  concurrency: number;
  /** The pass for a due key; a rejection goes to `onError`. */
  run: (key: string) => Promise<void>;
  onError: (key: string, err: unknown) => void;
}

interface Entry {
  at: number;
  key: string;
}

export class DueTimers {
  private readonly pending = new Map<string, number>();
  private readonly heap: Entry[] = [];
  private readonly ready: string[] = [];
  private readyHead = 0;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly idleWaiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(private readonly options: DueTimersOptions) {
    if (options.concurrency < 1) throw new Error('DueTimers: concurrency must be at least 1');
  }

  /** Keys with a pending time. */
  get size(): number {
    return this.pending.size;
  }

  /** Due keys waiting for a free slot in the pool. */
  get waiting(): number {
    return this.ready.length - this.readyHead;
  }

  get running(): number {
    return this.inFlight.size;
  }

  /**
   * Resolves once no due key waits for a free slot in the pool (at once if none does), or after
   * `maxWaitMs`. Other work calls it first, so due runs go before it when the pool is saturated.
   */
  idle(maxWaitMs: number): Promise<void> {
    if (this.waiting === 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      timer.unref?.();
      this.idleWaiters.add(done);
    });
  }

  /** The pending time of `key` (schedule clock), if any. */
  get(key: string): Date | undefined {
    const at = this.pending.get(key);
    return at === undefined ? undefined : new Date(at);
  }

  set(key: string, at: Date | undefined): void {
    if (this.stopped) return;
    if (!at) {
      this.pending.delete(key);
      return;
    }
    const ms = at.getTime();
    if (this.pending.get(key) === ms) return;
    this.pending.set(key, ms);
    this.push({ at: ms, key });
    if (ms < this.timerAt) this.arm();
  }

  delete(key: string): void {
    this.pending.delete(key);
  }

  /** Drops every pending time and waits for the passes in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    this.again.clear();
    this.heap.length = 0;
    this.ready.length = 0;
    this.readyHead = 0;
    for (const w of [...this.idleWaiters]) w();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Moves every key due at `now` to the ready list (due-time order), then fills the pool. */
  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    const now = this.options.clock.now().getTime();
    while (this.heap.length > 0 && (this.heap[0] as Entry).at <= now) {
      const e = this.pop();
      // Stale heap entries (the key was set to another time, or dropped) are skipped here.
      if (this.pending.get(e.key) !== e.at) continue;
      this.pending.delete(e.key);
      this.ready.push(e.key);
    }
    this.pump();
    this.arm();
  }

  private pump(): void {
    while (!this.stopped && this.inFlight.size < this.options.concurrency && this.waiting > 0) {
      const key = this.ready[this.readyHead++] as string;
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready.splice(0, this.readyHead);
        this.readyHead = 0;
      }
      // Set again since it came due: a pass already decided its next time.
      if (this.pending.has(key)) continue;
      // Due again while its pass runs: run once more after it (unless that pass sets a new time).
      if (this.inFlight.has(key)) {
        this.again.add(key);
        continue;
      }
      const pass = this.options
        .run(key)
        .catch((err: unknown) => this.options.onError(key, err))
        .finally(() => {
          this.inFlight.delete(key);
          if (this.again.delete(key) && !this.pending.has(key) && !this.stopped) this.ready.push(key);
          this.pump();
        });
      this.inFlight.set(key, pass);
    }
    if (this.waiting === 0) for (const w of [...this.idleWaiters]) w();
  }

  private arm(): void {
    if (this.stopped) return;
    while (this.heap.length > 0) {
      const top = this.heap[0] as Entry;
      if (this.pending.get(top.key) === top.at) break;
      this.pop();
    }
    const next = this.heap[0];
    if (!next) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.timer && this.timerAt <= next.at) return;
    if (this.timer) clearTimeout(this.timer);
    const wait = next.at - this.options.clock.now().getTime();
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, this.options.clock.realDelay(wait)));
    this.timerAt = next.at;
    this.timer = setTimeout(() => this.fire(), delay);
    this.timer.unref?.();
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as Entry).at <= e.at) break;
      h[i] = h[parent] as Entry;
      i = parent;
    }
    h[i] = e;
  }

  private pop(): Entry {
    const h = this.heap;
    const top = h[0] as Entry;
    const last = h.pop() as Entry;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const child = r < h.length && (h[r] as Entry).at < (h[l] as Entry).at ? r : l;
        if ((h[child] as Entry).at >= last.at) break;
        h[i] = h[child] as Entry;
        i = child;
      }
      h[i] = last;
    }
    return top;
  }
}
