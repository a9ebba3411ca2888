/**
 * Where a capture stands, decided purely from what the controller observes: the capture Job's status,
 * the worker's own report in `status.worker`, and (after a failure) the worker's exit code.
 *
 * Pending -> Scheduled (Job created) -> Capturing (worker pod running, or the worker says so) ->
 * Uploading (worker says so) -> Succeeded (the Job completed AND the worker reported success) | Failed.
 * A Job that completes without the worker's success report is a failure (`WorkerReportMissing`):
 * upstream reported success whenever its script ended, even when every step had failed.
 */
import type { Phase, WorkerReport } from '../api/podcheckpoint.js';
import type { JobObject } from './job.js';
import { EXIT_REASONS } from './worker-env.js';

export interface WorkerExit {
  exitCode: number;
  /** The container's termination message (the worker writes a one-line summary). */
  message?: string;
}

export interface Progress {
  phase: Phase;
  reason: string;
  message: string;
}

const condition = (job: JobObject | undefined, type: string) =>
  job?.status?.conditions?.find((c) => c.type === type && c.status === 'True');

export function isJobFinished(job: JobObject | undefined): boolean {
  return Boolean(condition(job, 'Complete') || condition(job, 'Failed'));
}

export function captureProgress(
  job: JobObject,
  report: WorkerReport | undefined,
  exit?: WorkerExit,
): Progress {
  if (report?.stage === 'Failed') {
    return {
      phase: 'Failed',
      reason: report.reason ?? 'CaptureFailed',
      message: report.message ?? 'the worker reported a failure',
    };
  }
  const failed = condition(job, 'Failed');
  if (failed) {
    const byExit = exit && exit.exitCode !== 0 ? EXIT_REASONS[exit.exitCode] : undefined;
    const detail = exit?.message?.trim() ? `: ${exit.message.trim().slice(0, 512)}` : '';
    return {
      phase: 'Failed',
      reason: byExit ?? failed.reason ?? 'JobFailed',
      message: `capture Job failed (${failed.reason ?? 'unknown reason'}${exit ? `, worker exit code ${exit.exitCode}` : ''})${detail}`,
    };
  }
  if (condition(job, 'Complete')) {
    if (report?.stage === 'Succeeded') {
      return { phase: 'Succeeded', reason: 'Captured', message: report.message ?? 'capture uploaded' };
    }
    return {
      phase: 'Failed',
      reason: 'WorkerReportMissing',
      message: 'the capture Job completed but the worker never reported a successful upload',
    };
  }
  if (report?.stage === 'Uploading' || report?.stage === 'Succeeded') {
    return {
      phase: 'Uploading',
      reason: 'Uploading',
      message: report.message ?? 'the worker is uploading artifacts',
    };
  }
  if (report?.stage === 'Capturing' || ((job.status?.active ?? 0) > 0 && (job.status?.ready ?? 0) > 0)) {
    return { phase: 'Capturing', reason: 'Capturing', message: report?.message ?? 'the worker is running' };
  }
  return { phase: 'Scheduled', reason: 'JobCreated', message: 'waiting for the capture pod to start' };
}
