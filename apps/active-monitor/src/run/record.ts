/**
 * Status transitions when a run finishes (pure): counters, timestamps and history exactly once per
 * run, because the caller writes the result in the same status update that clears `currentRun`.
 *
 * Upstream's fields keep their meaning for checks; remedies have their own fields and never touch
 * `lastSuccessfulWorkflow`/`lastFailedWorkflow` (an upstream bug).
 */
import { setCondition } from '@keiko/operator-kit';
import type { HealthCheckStatus, RunRecord } from '../api/healthcheck.js';

export const HISTORY_LIMIT = 10;

export type FinishPhase = 'Succeeded' | 'Failed' | 'Error' | 'TimedOut';

export function recordFinish(
  status: HealthCheckStatus,
  run: RunRecord,
  phase: FinishPhase,
  message: string | undefined,
  now: Date,
  generation: number | undefined,
): HealthCheckStatus {
  const at = iso(now);
  const ok = phase === 'Succeeded';
  const s: HealthCheckStatus = { ...status };
  delete s.currentRun;
  s.history = [
    { ...run, finishedAt: at, phase, ...(message ? { message } : {}) },
    ...(s.history ?? []),
  ].slice(0, HISTORY_LIMIT);
  if (run.type === 'check') {
    s.finishedAt = at;
    s.status = ok ? 'Succeeded' : 'Failed';
    if (ok) {
      s.successCount = (s.successCount ?? 0) + 1;
      s.lastSuccessfulWorkflow = run.workflow;
      s.consecutiveFailures = 0;
      if (s.remedyTotalRuns) {
        // As upstream: a passing check resets the remedy counters.
        s.remedyTotalRuns = 0;
        s.remedySuccessCount = 0;
        s.remedyFailedCount = 0;
        s.remedyStatus = 'HealthCheck Passed so Remedy is reset';
      }
    } else {
      s.failedCount = (s.failedCount ?? 0) + 1;
      s.lastFailedWorkflow = run.workflow;
      s.lastFailedAt = at;
      s.errorMessage = message || phase;
      s.consecutiveFailures = (s.consecutiveFailures ?? 0) + 1;
    }
    s.totalHealthCheckRuns = (s.successCount ?? 0) + (s.failedCount ?? 0);
    s.conditions = setCondition(
      s.conditions,
      ok
        ? {
            type: 'Healthy',
            status: 'True',
            reason: 'RunSucceeded',
            message: `workflow ${run.workflow} succeeded`,
          }
        : {
            type: 'Healthy',
            status: 'False',
            reason: phase === 'TimedOut' ? 'RunTimedOut' : 'RunFailed',
            message: `workflow ${run.workflow}: ${message || phase}`,
          },
      generation,
      now,
    );
  } else {
    s.remedyFinishedAt = at;
    s.remedyStatus = ok ? 'Succeeded' : 'Failed';
    s.remedyTotalRuns = (s.remedyTotalRuns ?? 0) + 1;
    if (ok) s.remedySuccessCount = (s.remedySuccessCount ?? 0) + 1;
    else {
      s.remedyFailedCount = (s.remedyFailedCount ?? 0) + 1;
      s.remedyLastFailedAt = at;
      s.remedyErrorMessage = message || phase;
    }
  }
  return s;
}

/** Resets the remedy counters (the reset interval passed). */
export function resetRemedyCounters(status: HealthCheckStatus): HealthCheckStatus {
  return { ...status, remedyTotalRuns: 0, remedySuccessCount: 0, remedyFailedCount: 0 };
}

export function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
