/**
 * The lifecycle decision for one Addon, pure: given the Addon, the hash of its spec, the state of its
 * dependencies, the workflows of its current run and the clock, compute the next status and the
 * side effects (workflows to create, old runs to purge, the finalizer). The reconciler observes,
 * calls {@link planAddon}, then acts; nothing here does I/O.
 *
 * Phases are upstream's strings (`status.lifecycle.installed` is the STATUS column). A run is one
 * attempt at the current spec: a new spec hash, or a new value of the retry annotation, starts a new
 * run (prereqs, then install). An unchanged spec never re-runs, whatever happens to its workflows
 * (Argo may garbage-collect them: completed steps are read from status, not from workflows).
 */
import type { Addon, AddonStatus } from '../api/addon.js';
import { stepPhase, type Workflow } from '../api/workflow.js';
import type { Resolution } from './dependencies.js';
import { isUpstreamChecksum } from './hash.js';
import { LABEL_RUN, LABEL_STEP, runId, type Step } from './naming.js';

export const FINALIZER = 'delete.addonmgr.keikoproj.io';
/** Changing its value re-runs the addon's workflows without a spec change. */
export const RETRY_ANNOTATION = 'addonmgr.keikoproj.io/retry';
/** `"true"`: release the finalizer even when the delete workflow failed or timed out. */
export const FORCE_DELETE_ANNOTATION = 'addonmgr.keikoproj.io/force-delete';

export const Phase = {
  Pending: 'Pending',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  ValidationFailed: 'Validation Failed',
  Deleting: 'Deleting',
  DeleteFailed: 'Delete Failed',
  DeleteSucceeded: 'Delete Succeeded',
} as const;

export interface PlanInput {
  addon: Addon;
  specHash: string;
  /** Problems of the templates (validateTemplates); non-empty blocks every workflow. */
  templateProblems: string[];
  dependencies: Resolution;
  /** Every Workflow of this addon (any run); the current run's are picked by their labels. */
  workflows: Workflow[];
  /** Secrets named in spec.secrets that do not exist in params.namespace. */
  missingSecrets: string[];
  now: number;
  /** Milliseconds a run may take before it is Failed (upstream: 1 h). */
  installTimeoutMs: number;
  /** Milliseconds the delete workflow may take before the deletion is Delete Failed. */
  deleteTimeoutMs: number;
}

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

export interface Plan {
  status: AddonStatus;
  /** The run id of the current attempt (workflow names and the run label). */
  run: string;
  /** Steps whose workflow must be created now. */
  create: Step[];
  /** Delete this addon's workflows that belong to another run. */
  purgeOtherRuns: boolean;
  addFinalizer: boolean;
  removeFinalizer: boolean;
  events: PlannedEvent[];
  /** Look again after this many milliseconds (a deadline), if nothing else wakes the addon. */
  requeueAfterMs?: number;
}

const TERMINAL_RUN = new Set<string>([Phase.Succeeded, Phase.Failed]);

/** The workflow of `step` in run `run`, by labels (absent: not created yet, or garbage-collected). */
function workflowOf(workflows: Workflow[], run: string, step: Step): Workflow | undefined {
  return workflows.find(
    (w) =>
      w.metadata.labels?.[LABEL_RUN] === run &&
      w.metadata.labels?.[LABEL_STEP] === step &&
      !w.metadata.deletionTimestamp,
  );
}

function failureMessage(step: Step, wf: Workflow | undefined): string {
  const why = wf?.status?.message ? `: ${wf.status.message}` : '';
  return `${step} workflow ${wf?.metadata.name ?? ''} ${wf?.status?.phase ?? 'Failed'}${why}`;
}

/** See the module comment. */
export function planAddon(input: PlanInput): Plan {
  const { addon, now } = input;
  const previous = addon.status ?? {};
  const status: AddonStatus = structuredClone(previous);
  status.lifecycle = { ...status.lifecycle };
  status.observedGeneration = addon.metadata.generation;
  const events: PlannedEvent[] = [];
  const retryToken = addon.metadata.annotations?.[RETRY_ANNOTATION] || undefined;
  const hasFinalizer = addon.metadata.finalizers?.includes(FINALIZER) ?? false;
  const plan = (extra: Partial<Plan>): Plan => ({
    status,
    run: runId(status.checksum ?? input.specHash, status.retry),
    create: [],
    purgeOtherRuns: false,
    addFinalizer: false,
    removeFinalizer: false,
    events,
    ...extra,
  });

  // Migration from upstream: its checksum cannot be recomputed here; adopt it once instead of
  // re-running every addon of the cluster.
  if (isUpstreamChecksum(status.checksum) && TERMINAL_RUN.has(status.lifecycle.installed ?? '')) {
    status.adoptedChecksum = status.checksum;
    status.checksum = input.specHash;
    events.push({
      type: 'Normal',
      reason: 'Adopted',
      note: `adopted upstream checksum ${status.adoptedChecksum}`,
    });
  }

  if (addon.metadata.deletionTimestamp) return planDelete(input, status, plan, hasFinalizer, retryToken);

  let newRun: string | undefined;
  if (status.checksum !== input.specHash) newRun = status.checksum ? 'spec changed' : 'new addon';
  else if (retryToken !== undefined && retryToken !== status.retry) newRun = `retry ${retryToken} requested`;
  if (newRun) {
    status.checksum = input.specHash;
    status.retry = retryToken;
    status.lifecycle = { prereqs: Phase.Pending, installed: Phase.Pending };
    status.starttime = now;
    status.workflows = {};
    delete status.reason;
    if (newRun !== 'new addon') events.push({ type: 'Normal', reason: 'Rerun', note: newRun });
  }
  const run = runId(input.specHash, status.retry);
  const base = { run, purgeOtherRuns: newRun !== undefined && newRun !== 'new addon' };

  if (input.templateProblems.length > 0) {
    status.lifecycle.installed = Phase.ValidationFailed;
    status.reason = input.templateProblems.join('; ');
    if (previous.reason !== status.reason)
      events.push({ type: 'Warning', reason: 'InvalidTemplate', note: status.reason });
    return plan(base);
  }
  const addFinalizer = !hasFinalizer;
  if (TERMINAL_RUN.has(status.lifecycle.installed ?? '')) return plan({ ...base, addFinalizer });

  // Dependencies gate the start of a run (not a run in progress).
  const started =
    status.lifecycle.prereqs !== Phase.Pending || Object.keys(status.workflows ?? {}).length > 0;
  const deps = input.dependencies;
  if (!started && deps.state !== 'Met') {
    let phase: string = Phase.ValidationFailed;
    let reason: string;
    if (deps.state === 'Cycle') reason = `circular dependency: ${deps.cycle.join(' -> ')}`;
    else if (deps.state === 'Invalid') reason = deps.message;
    else {
      reason = `waiting for dependencies: ${deps.blockers.map((b) => b.message).join('; ')}`;
      if (deps.state === 'Waiting') phase = Phase.Pending;
    }
    status.lifecycle.installed = phase;
    status.reason = reason;
    if (previous.reason !== reason) {
      events.push({
        type: deps.state === 'Waiting' ? 'Normal' : 'Warning',
        reason: 'DependenciesNotMet',
        note: reason,
      });
    }
    // No polling: a change to any Addon with a depended-on pkgName wakes this one.
    return plan({ ...base, addFinalizer });
  }
  if (status.lifecycle.installed === Phase.ValidationFailed) status.lifecycle.installed = Phase.Pending;
  if (status.reason?.startsWith('waiting for dependencies') || status.reason?.startsWith('circular')) {
    delete status.reason;
  }

  const deadline = (status.starttime ?? now) + input.installTimeoutMs;
  if (now >= deadline) {
    status.lifecycle.installed = Phase.Failed;
    status.reason = `the run did not finish within ${Math.round(input.installTimeoutMs / 1000)} s`;
    events.push({ type: 'Warning', reason: 'Timeout', note: status.reason });
    return plan({ ...base, addFinalizer });
  }
  const create: Step[] = [];
  status.workflows = { ...status.workflows };

  // prereqs, then install. A step already terminal in status is never looked at again.
  for (const step of ['prereqs', 'install'] as const) {
    const field = step === 'prereqs' ? 'prereqs' : 'installed';
    const current = status.lifecycle[field];
    if (current === Phase.Succeeded || current === Phase.Failed) continue;
    if (step === 'install' && input.missingSecrets.length > 0) {
      status.reason = `waiting for secrets in ${addon.spec.params.namespace}: ${input.missingSecrets.join(', ')}`;
      return plan({ ...base, addFinalizer, create, requeueAfterMs: 30_000 });
    }
    const template = addon.spec.lifecycle?.[step]?.template;
    if (!template?.trim()) {
      status.lifecycle[field] = Phase.Succeeded;
      continue;
    }
    const wf = workflowOf(input.workflows, run, step);
    if (!wf) {
      create.push(step);
      status.lifecycle[field] = Phase.Pending;
      break;
    }
    status.workflows[step] = wf.metadata.name!;
    const phase = stepPhase(wf);
    status.lifecycle[field] = phase;
    if (phase === Phase.Failed) {
      status.lifecycle.installed = Phase.Failed;
      status.reason = failureMessage(step, wf);
      events.push({ type: 'Warning', reason: 'Failed', note: status.reason });
      break;
    }
    if (phase === Phase.Pending) break;
  }
  if (status.lifecycle.installed === Phase.Succeeded) {
    delete status.reason;
    events.push({
      type: 'Normal',
      reason: 'Completed',
      note: `${addon.spec.pkgName} ${addon.spec.pkgVersion} installed`,
    });
  }
  const running = !TERMINAL_RUN.has(status.lifecycle.installed ?? '');
  return plan({
    ...base,
    addFinalizer,
    create,
    ...(running ? { requeueAfterMs: Math.max(1_000, deadline - now) } : {}),
  });
}

function planDelete(
  input: PlanInput,
  status: AddonStatus,
  plan: (extra: Partial<Plan>) => Plan,
  hasFinalizer: boolean,
  retryToken: string | undefined,
): Plan {
  const { addon, now, events } = { ...input, events: [] as PlannedEvent[] };
  const out = (extra: Partial<Plan>) => {
    const p = plan(extra);
    p.events.push(...events);
    return p;
  };
  if (!hasFinalizer) return out({});
  const force = addon.metadata.annotations?.[FORCE_DELETE_ANNOTATION] === 'true';
  const template = addon.spec.lifecycle?.delete?.template;
  if (!template?.trim()) {
    events.push({ type: 'Normal', reason: 'Deleted', note: 'no delete workflow: finalizer released' });
    return out({ removeFinalizer: true });
  }
  // A retry during deletion runs the delete workflow again.
  if (
    retryToken !== undefined &&
    retryToken !== status.retry &&
    status.lifecycle?.installed === Phase.DeleteFailed
  ) {
    status.retry = retryToken;
    status.lifecycle = { ...status.lifecycle, installed: Phase.Deleting };
    delete status.reason;
  }
  const run = runId(status.checksum ?? input.specHash, status.retry);
  status.lifecycle ??= {};
  const lifecycle = status.lifecycle;
  const release = (note: string): Plan => {
    events.push({ type: force ? 'Warning' : 'Normal', reason: force ? 'ForceDeleted' : 'Deleted', note });
    return out({ run, removeFinalizer: true });
  };
  if (lifecycle.installed === Phase.DeleteSucceeded) return release('delete workflow succeeded');
  if (lifecycle.installed === Phase.DeleteFailed) {
    return force ? release(`released despite: ${status.reason ?? 'delete failed'}`) : out({ run });
  }
  if (input.templateProblems.some((p) => p.startsWith('spec.lifecycle.delete'))) {
    lifecycle.installed = Phase.DeleteFailed;
    status.reason = input.templateProblems.filter((p) => p.startsWith('spec.lifecycle.delete')).join('; ');
    events.push({ type: 'Warning', reason: 'DeleteFailed', note: status.reason });
    return force ? release(status.reason) : out({ run });
  }
  const wf = workflowOf(input.workflows, run, 'delete');
  if (!wf) {
    if (lifecycle.installed !== Phase.Deleting)
      events.push({ type: 'Normal', reason: 'Deleting', note: 'running the delete workflow' });
    lifecycle.installed = Phase.Deleting;
    return out({ run, create: ['delete'], requeueAfterMs: input.deleteTimeoutMs });
  }
  status.workflows = { ...status.workflows, delete: wf.metadata.name! };
  const phase = stepPhase(wf);
  if (phase === Phase.Succeeded) {
    lifecycle.installed = Phase.DeleteSucceeded;
    delete status.reason;
    return release('delete workflow succeeded');
  }
  const started = Date.parse(addon.metadata.deletionTimestamp!);
  const timedOut = now - started >= input.deleteTimeoutMs;
  if (phase === Phase.Failed || timedOut) {
    lifecycle.installed = Phase.DeleteFailed;
    status.reason =
      phase === Phase.Failed
        ? failureMessage('delete', wf)
        : `delete workflow ${wf.metadata.name} did not finish within ${Math.round(input.deleteTimeoutMs / 1000)} s`;
    events.push({ type: 'Warning', reason: 'DeleteFailed', note: status.reason });
    return force ? release(status.reason) : out({ run });
  }
  lifecycle.installed = Phase.Deleting;
  return out({ run, requeueAfterMs: Math.max(1_000, started + input.deleteTimeoutMs - now) });
}
