/**
 * The retry policy of every client: the SDK's adaptive mode (a client-side token bucket that slows
 * the sending rate when AWS throttles) with a ceiling on attempts and on the backoff delay.
 */
import { AdaptiveRetryStrategy } from '@smithy/util-retry';

export interface RetryOptions {
  /** Attempts per call, the first included (default 5). */
  maxAttempts?: number;
  /** Base of the exponential backoff in ms (default 100; the SDK raises it for throttling errors). */
  baseDelayMs?: number;
  /** Ceiling of one backoff delay in ms (default 20,000, the SDK's own maximum). */
  maxBackoffMs?: number;
}

/** Full-jitter exponential backoff: a random delay in [0, min(ceiling, base * 2^attempt)). */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  ceilingMs: number,
  random = Math.random,
): number {
  return Math.floor(random() * Math.min(ceilingMs, baseMs * 2 ** attempt));
}

export function retryStrategy(options: RetryOptions = {}): AdaptiveRetryStrategy {
  const maxAttempts = options.maxAttempts ?? 5;
  let base = options.baseDelayMs ?? 100;
  const ceiling = options.maxBackoffMs ?? 20_000;
  return new AdaptiveRetryStrategy(maxAttempts, {
    backoff: {
      computeNextBackoffDelay: (attempt: number) => backoffDelay(attempt, base, ceiling),
      // The SDK sets a larger base (500 ms) for throttling errors than for transient ones.
      setDelayBase: (delay: number) => {
        base = Math.min(delay, options.baseDelayMs ?? delay);
      },
    },
  });
}
