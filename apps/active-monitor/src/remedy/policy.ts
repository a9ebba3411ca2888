/**
 * Whether a remedy runs after a failed check: a pure function of the spec, the status (with the
 * failure already counted) and the time.
 *
 * - No `remedyworkflow`: never.
 * - Fewer than `remedyFailureThreshold` (default 1) consecutive failed checks: not yet.
 * - `remedyResetInterval` (seconds, > 0): once that long has passed since the last remedy finished,
 *   the remedy counters reset to 0. It works with or without a limit.
 * - `remedyRunsLimit` (> 0): at most that many remedy runs until the counters reset (by the interval,
 *   or by a passing check, as upstream). Without a reset interval the limit holds until a check passes
 *   (upstream ignored the limit unless both were set).
 */
import type { HealthCheckSpec, HealthCheckStatus } from '../api/healthcheck.js';

export type RemedyDecision =
  | { run: true; resetCounters: boolean }
  | { run: false; reason: 'NoRemedy' | 'BelowThreshold'; resetCounters: boolean }
  | { run: false; reason: 'LimitReached'; resetCounters: false; retryAfter?: Date };

export function decideRemedy(spec: HealthCheckSpec, status: HealthCheckStatus, now: Date): RemedyDecision {
  const resetCounters = shouldResetCounters(spec, status, now);
  if (!spec.remedyworkflow) return { run: false, reason: 'NoRemedy', resetCounters };
  const threshold = spec.remedyFailureThreshold ?? 1;
  if ((status.consecutiveFailures ?? 0) < threshold)
    return { run: false, reason: 'BelowThreshold', resetCounters };
  const runs = resetCounters ? 0 : (status.remedyTotalRuns ?? 0);
  const limit = spec.remedyRunsLimit ?? 0;
  if (limit > 0 && runs >= limit) {
    const interval = spec.remedyResetInterval ?? 0;
    const finished = status.remedyFinishedAt ? Date.parse(status.remedyFinishedAt) : undefined;
    const retryAfter =
      interval > 0 && finished !== undefined ? new Date(finished + interval * 1_000) : undefined;
    return { run: false, reason: 'LimitReached', resetCounters: false, retryAfter };
  }
  return { run: true, resetCounters };
}

function shouldResetCounters(spec: HealthCheckSpec, status: HealthCheckStatus, now: Date): boolean {
  const interval = spec.remedyResetInterval ?? 0;
  if (interval <= 0 || !status.remedyFinishedAt || !(status.remedyTotalRuns ?? 0)) return false;
  return now.getTime() - Date.parse(status.remedyFinishedAt) >= interval * 1_000;
}
