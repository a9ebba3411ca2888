/**
 * Capacity back-off: spot pools (instance type x zone) that recently failed to launch for lack of
 * capacity are avoided for a while, doubling on repeated failures. Pure: time is a parameter.
 *
 * A failure is counted once: each entry remembers the time of the latest failure it absorbed, and an
 * activity at or before that time is the same (or an older) failure seen again on a later cycle or by
 * a restarted controller.
 */
import { type Pool, poolKey } from './types.js';

export interface CapacityBackoff extends Pool {
  /** The pool is avoided until then (ms since the epoch). */
  until: number;
  /** Time of the latest failure counted (ms). */
  lastFailure: number;
  /** Consecutive failures; the back-off doubles with each. */
  failures: number;
}

export interface CapacityFailure extends Pool {
  /** When the failed launch happened (ms). */
  at: number;
}

export interface BackoffOptions {
  /** First back-off; default 10 min. */
  baseMs: number;
  /** Ceiling; default 2 h. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 10 * 60_000, maxMs: 2 * 60 * 60_000 };

export function backoffDuration(failures: number, options: BackoffOptions): number {
  return Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, failures - 1));
}

/**
 * Folds new failures into the back-off list. Entries whose back-off ended more than `maxMs` ago are
 * forgotten (the failure streak resets); a failure after the previous back-off ended extends the streak.
 */
export function recordCapacityFailures(
  current: readonly CapacityBackoff[],
  failures: readonly CapacityFailure[],
  now: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
): CapacityBackoff[] {
  const byPool = new Map<string, CapacityBackoff>();
  for (const b of current) {
    if (now - b.until > options.maxMs) continue;
    byPool.set(poolKey(b), { ...b });
  }
  for (const f of [...failures].sort((a, b) => a.at - b.at)) {
    const key = poolKey(f);
    const prev = byPool.get(key);
    if (prev && f.at <= prev.lastFailure) continue;
    const streak = prev && f.at - prev.until <= options.maxMs ? prev.failures + 1 : 1;
    byPool.set(key, {
      instanceType: f.instanceType,
      zone: f.zone,
      failures: streak,
      lastFailure: f.at,
      until: f.at + backoffDuration(streak, options),
    });
  }
  return [...byPool.values()].sort((a, b) => poolKey(a).localeCompare(poolKey(b)));
}

/** True when a back-off currently covers this type in this zone (exact, any-type or any-zone entries). */
export function isBackedOff(
  backoffs: readonly CapacityBackoff[],
  instanceType: string,
  zone: string,
  now: number,
): boolean {
  return backoffs.some(
    (b) =>
      b.until > now &&
      (b.instanceType === '' || b.instanceType === instanceType) &&
      (b.zone === '' || b.zone === zone),
  );
}

/** Whether two back-off lists are the same (to skip a tag write). */
export function sameBackoffs(a: readonly CapacityBackoff[], b: readonly CapacityBackoff[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (x, i) =>
        poolKey(x) === poolKey(b[i] as CapacityBackoff) &&
        x.until === b[i]?.until &&
        x.failures === b[i]?.failures &&
        x.lastFailure === b[i]?.lastFailure,
    )
  );
}
