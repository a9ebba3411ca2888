/**
 * Backoff maths, pure so that tests can check them without timers.
 */

/** Per-item exponential delay: `base * 2^failures`, capped. controller-runtime uses 5 ms -> 1000 s. */
export function exponentialDelay(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  const exp = Math.min(failures - 1, 52);
  return Math.min(baseMs * 2 ** exp, maxMs);
}

/**
 * Reconnect delays for watches: exponential with full jitter in [d/2, d], reset after a long healthy
 * period (kube-rs: 0.8 s -> 30 s, reset after 120 s).
 */
export class JitteredBackoff {
  private attempt = 0;
  private healthySince: number | undefined;

  constructor(
    private readonly baseMs = 800,
    private readonly maxMs = 30_000,
    private readonly resetAfterMs = 120_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; grows on each call until {@link healthy} resets it. */
  next(now = Date.now()): number {
    if (this.healthySince !== undefined && now - this.healthySince >= this.resetAfterMs) this.attempt = 0;
    this.healthySince = undefined;
    const d = Math.min(this.baseMs * 2 ** this.attempt, this.maxMs);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(d / 2 + (this.random() * d) / 2);
  }

  /** Marks the start of a healthy period (a watch established). */
  healthy(now = Date.now()): void {
    this.healthySince ??= now;
  }

  reset(): void {
    this.attempt = 0;
    this.healthySince = undefined;
  }
}

/** A token bucket: `qps` sustained, `burst` at once. Returns the delay before a token is available. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes a token (possibly going into debt) and returns how long to wait for it. */
  reserve(now = Date.now()): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }
}
