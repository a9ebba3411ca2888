/**
 * The work queue between event handlers and reconcile workers, with client-go's guarantees:
 *
 * - a key waiting in the queue is stored once, however often it is added (a burst of 1,000 updates to
 *   one object waits as one key);
 * - a key is handed to at most one worker at a time; added again while in flight, it is queued again
 *   when that worker calls {@link WorkQueue.done}, so the newest state is always reconciled;
 * - {@link WorkQueue.addAfter} delays a key (the earliest pending time wins);
 * - {@link WorkQueue.addRateLimited} delays by a per-key exponential backoff, bounded by a global token
 *   bucket, until {@link WorkQueue.forget} resets the key.
 */
import { exponentialDelay, TokenBucket } from './backoff.js';

export interface QueueHooks {
  /** A key entered the ready queue (after dedupe). */
  onAdd?(key: string): void;
  onDepth?(depth: number): void;
  /** A key was handed to a worker after waiting `waitedMs`. */
  onGet?(key: string, waitedMs: number): void;
  onRetry?(key: string): void;
}

export interface QueueOptions {
  /** Per-key backoff base, default 5 ms (controller-runtime). */
  baseDelayMs?: number;
  /** Per-key backoff cap, default 1000 s (controller-runtime). */
  maxDelayMs?: number;
  /** Global bucket for rate-limited adds; default 10 qps, burst 100 (client-go). */
  qps?: number;
  burst?: number;
  hooks?: QueueHooks;
  now?: () => number;
}

export class WorkQueue {
  private readonly ready: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly bucket: TokenBucket;
  private waiters: ((key: string | undefined) => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private shuttingDown = false;
  private readonly now: () => number;

  constructor(private readonly options: QueueOptions = {}) {
    this.now = options.now ?? Date.now;
    this.bucket = new TokenBucket(options.qps ?? 10, options.burst ?? 100, this.now());
  }

  /** Keys waiting (not in flight, not delayed). */
  get depth(): number {
    return this.ready.length - this.head;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAt.set(key, this.now());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds `key` after `delayMs`; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.delayed.set(key, { at, timer });
  }

  /** Re-adds `key` after its backoff (errors). Returns the delay chosen. */
  addRateLimited(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delay = Math.max(
      exponentialDelay(failures, this.options.baseDelayMs ?? 5, this.options.maxDelayMs ?? 1_000_000),
      this.bucket.reserve(this.now()),
    );
    this.options.hooks?.onRetry?.(key);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the backoff of `key` (after a success or a terminal error). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key for a worker; `undefined` once the queue shuts down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    if (this.depth > 0) return Promise.resolve(this.take());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** A worker finished `key`. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    if (this.processing.size === 0) {
      for (const w of this.idleWaiters) w();
      this.idleWaiters = [];
    }
  }

  /** Stops handing out keys (waiting workers get `undefined`) and drops delayed keys. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const w of this.waiters) w(undefined);
    this.waiters = [];
  }

  /** Resolves when no key is in flight. */
  drained(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private push(key: string): void {
    this.ready.push(key);
    this.options.hooks?.onAdd?.(key);
    const waiter = this.shuttingDown ? undefined : this.waiters.shift();
    if (waiter) waiter(this.take());
    else this.options.hooks?.onDepth?.(this.depth);
  }

  private take(): string {
    const key = this.ready[this.head++] as string;
    if (this.head > 1024 && this.head * 2 > this.ready.length) {
      this.ready.splice(0, this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    this.options.hooks?.onGet?.(key, this.now() - (this.addedAt.get(key) ?? this.now()));
    this.addedAt.delete(key);
    this.options.hooks?.onDepth?.(this.depth);
    return key;
  }
}
