/**
 * The controller's part of a PodCheckpoint's status, computed purely from the previous status, the
 * progress just decided and the Job: phase, conditions (Accepted, Isolated, Complete, Failed, Ready),
 * upstream's Job counters and times, and where the capture ran. `status.worker` is the worker's and is
 * never part of it.
 */
import { type Condition, type ConditionInput, setCondition } from '@keiko/operator-kit';
import { type PodCheckpointStatus, TERMINAL_PHASES } from '../api/podcheckpoint.js';
import { s3Uri } from './destination.js';
import type { JobObject } from './job.js';
import type { Progress } from './progress.js';
import { WORKER_ENV } from './worker-env.js';

export type ControllerFields = Omit<PodCheckpointStatus, 'worker'>;

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What the status says about the Job, read from the Job itself (never from a possibly stale status). */
export function jobFields(job: JobObject): Partial<ControllerFields> {
  const nodeName = job.spec?.template?.spec?.nodeName;
  const env = job.spec?.template?.spec?.containers?.[0]?.env ?? [];
  const bucket = env.find((e) => e.name === WORKER_ENV.bucket)?.value;
  const prefix = env.find((e) => e.name === WORKER_ENV.keyPrefix)?.value;
  return {
    jobName: job.metadata.name,
    jobNamespace: job.metadata.namespace,
    ...(job.metadata.creationTimestamp ? { startTime: job.metadata.creationTimestamp } : {}),
    ...(nodeName ? { nodeName } : {}),
    ...(bucket && prefix ? { location: s3Uri({ bucket, prefix }) } : {}),
    active: job.status?.active ?? 0,
    succeeded: job.status?.succeeded ?? 0,
    failed: job.status?.failed ?? 0,
  };
}

export interface StatusInput {
  /** The previous status without `worker`. */
  owned: ControllerFields;
  progress: Progress;
  /** Extra fields to set (e.g. at Job creation). */
  fields?: Partial<ControllerFields>;
  job?: JobObject;
  /** A condition set alongside (Isolated). */
  extra?: ConditionInput;
  generation?: number;
}

export function nextStatus({
  owned,
  progress,
  fields = {},
  job,
  extra,
  generation,
}: StatusInput): ControllerFields {
  const { phase, reason, message } = progress;
  const terminal = TERMINAL_PHASES.includes(phase);
  const set = (list: Condition[], input: ConditionInput) => setCondition(list, input, generation);
  let conditions = (owned.conditions ?? []) as Condition[];
  // Accepted: the request was valid and its Job exists; False for a terminal failure before any Job.
  const accepted = phase !== 'Pending' && !(phase === 'Failed' && !owned.jobName && !job);
  conditions = set(
    conditions,
    accepted
      ? { type: 'Accepted', status: 'True', reason: 'JobCreated', message: 'capture Job created' }
      : { type: 'Accepted', status: phase === 'Failed' ? 'False' : 'Unknown', reason, message },
  );
  if (extra) conditions = set(conditions, extra);
  conditions = set(conditions, {
    type: 'Complete',
    status: phase === 'Succeeded' ? 'True' : 'False',
    reason: phase === 'Succeeded' ? 'Captured' : phase,
  });
  conditions = set(
    conditions,
    phase === 'Failed'
      ? { type: 'Failed', status: 'True', reason, message }
      : { type: 'Failed', status: 'False', reason: phase },
  );
  conditions = set(conditions, {
    type: 'Ready',
    status: phase === 'Succeeded' ? 'True' : phase === 'Failed' ? 'False' : 'Unknown',
    reason,
    message,
  });
  return {
    ...owned,
    ...(job ? jobFields(job) : {}),
    ...fields,
    phase,
    observedGeneration: generation,
    conditions,
    ...(terminal ? { completionTime: job?.status?.completionTime ?? now() } : {}),
  };
}
