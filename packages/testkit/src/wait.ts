/** Polling with a deadline, for conditions that have no watch (process readiness, HTTP health). */
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Milliseconds before giving up (default 30 s). */
  timeoutMs?: number;
  /** Milliseconds between attempts (default 100 ms). */
  intervalMs?: number;
  /** Says what is awaited; it goes into the timeout error. */
  description: string;
  /** Aborts the wait early (the reason becomes the error). */
  signal?: AbortSignal;
}

/**
 * Calls `probe` until it returns a value other than `undefined`/`false` and returns that value.
 * A probe that throws counts as "not yet"; its last error is quoted in the timeout message.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.description}${why}`);
    }
    await sleep(intervalMs);
  }
}
