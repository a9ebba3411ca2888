/**
 * The HealthCheck reconciler: a state machine persisted in `status`, never a blocking loop.
 *
 * A pass over one HealthCheck runs from two places, never both at once for one key (a per-key lock):
 * - the controller's work queue, on changes: the HealthCheck's spec or deletion, and a Workflow of
 *   ours that finished or vanished;
 * - the due-time timers (schedule/timers.ts), at the time the last pass asked for: the next slot, a
 *   run's deadline, a retry. They have their own pool (`scheduleWorkers`), so a due run never waits
 *   behind queued completions, and nothing time-based goes through the queue's requeue-after.
 *
 * A pass reads the HealthCheck from the cache when the cached copy is the one this process last
 * wrote or read from the API server (same resourceVersion), else from the API server (a pass must
 * see our own last status write before starting a run), then:
 *   1. deletion: stop the active run, delete RBAC and metric series, remove the finalizer;
 *   2. validation: schedule and source; a problem is `Ready=False` with a reason, never a crash loop;
 *   3. RBAC: applied when the spec changed or was not yet granted; a refusal is `RBACReady=False`;
 *   4. the active run (`status.currentRun`, one per HealthCheck): finished when its Workflow (seen by
 *      the label-filtered Workflow watch) is Succeeded/Failed/Error, failed and stopped when its
 *      deadline passed, otherwise looked at again at the deadline. A failed check may start the
 *      remedy as the next run, so a remedy and a check never overlap;
 *   5. the schedule (schedule/schedule.ts): start the due check, or wait until it is due.
 * All of it is written in ONE status update guarded by resourceVersion, so a result is counted once
 * even across a crash or a leader change; Workflow names are deterministic, so a create repeated
 * after a crash adopts the Workflow instead of submitting a second one. A started run is in
 * `status.currentRun` before the pass ends; its Workflow carries the slot it runs for.
 */
import {
  addFinalizer,
  type Condition,
  type EventRecorder,
  getCondition,
  hasFinalizer,
  isAlreadyExists,
  isNotFound,
  type KubeClient,
  type Logger,
  OwnVersions,
  type ReconcileContext,
  type Request,
  type Result,
  removeFinalizer,
  type Store,
  setCondition,
} from '@keiko/operator-kit';
import {
  type HealthCheck,
  type HealthCheckStatus,
  healthCheckResource,
  type RunRecord,
} from '../api/healthcheck.js';
import type { HealthCheckMetrics } from '../metrics/metrics.js';
import { serviceAccountFor } from '../rbac/objects.js';
import { decideRemedy } from '../remedy/policy.js';
import { type FinishPhase, iso, recordFinish, resetRemedyCounters } from '../run/record.js';
import type { Clock } from '../schedule/clock.js';
import {
  decide,
  InvalidScheduleError,
  parseSchedule,
  runTimeoutSeconds,
  type Schedule,
} from '../schedule/schedule.js';
import { DueTimers } from '../schedule/timers.js';
import {
  buildWorkflow,
  HEALTHCHECK_ANNOTATION,
  HEALTHCHECK_UID_LABEL,
  InvalidWorkflowError,
  isFinished,
  RUN_TYPE_LABEL,
  type RunType,
  type Workflow,
  workflowName,
  workflowResource,
} from '../workflow/build.js';
import { SourceError, type SourceFetcher } from '../workflow/source.js';
import { deleteRbac, ensureRbac, RbacForbiddenError } from './rbac.js';

export const FINALIZER = 'activemonitor.keikoproj.io/finalizer';
/** How long a queue pass yields to waiting due runs at most. */
const QUEUE_YIELD_MAX_MS = 5_000;

export interface HealthCheckReconcilerDeps {
  clock: Clock;
  metrics: HealthCheckMetrics;
  sources: SourceFetcher;
  /** The label-filtered Workflow cache. */
  workflows: Store<Workflow>;
  /** The HealthCheck cache (undefined: not ours, or gone). */
  cached: (key: string) => HealthCheck | undefined;
  instanceId: string;
  /** How long to wait before looking again at a HealthCheck the controller cannot act on; default 60 s. */
  retryAfterMs?: number;
  /** Passes started by the due-time timers at once; default 50. */
  scheduleWorkers?: number;
  /**
   * The context of a pass started by the timers (client, logger, recorder); undefined when the
   * controller stopped (the pass is skipped).
   */
  dueContext: (key: string) => ReconcileContext | undefined;
  /** A timer-started pass failed: hand the key to the work queue's error backoff. */
  onDueError: (key: string, err: unknown) => void;
}

interface Pass {
  hc: HealthCheck;
  status: HealthCheckStatus;
  now: Date;
  client: KubeClient;
  log: Logger;
  recorder: EventRecorder;
}

const DELETED_FINISHED_TTL_MS = 10 * 60_000;
const DELETED_FINISHED_MAX = 10_000;

export class HealthCheckReconciler {
  /** When each HealthCheck wants its next pass (slot, deadline, retry). */
  readonly timers: DueTimers;
  /** The version of each HealthCheck this process last wrote or read from the API server. */
  private readonly versions = new OwnVersions();
  private readonly locks = new Map<string, Promise<void>>();
  /** Finished Workflows seen deleted, oldest first (see {@link rememberDeletedFinished}). */
  private readonly deletedFinished = new Map<string, { workflow: Workflow; at: number }>();

  constructor(private readonly deps: HealthCheckReconcilerDeps) {
    this.timers = new DueTimers({
      clock: deps.clock,
      concurrency: deps.scheduleWorkers ?? 50,
      run: (key) => this.runDue(key),
      onError: deps.onDueError,
    });
  }

  /** The work-queue reconciler (changes). Time-based wake-ups go to {@link timers}, not requeue-after. */
  readonly reconcile = async (
    req: Request<HealthCheck>,
    ctx: ReconcileContext,
  ): Promise<Result | undefined> => {
    // Due runs first: while due keys wait for the timers' pool (a burst of slots), changes (mostly
    // finished runs, which only write status) wait too, for at most a few seconds.
    await this.timers.idle(QUEUE_YIELD_MAX_MS);
    // The cache is read inside the lock (it may have moved on while this pass waited).
    await this.exclusive(req.key, () => this.pass(req.key, this.deps.cached(req.key) ?? req.object, ctx));
    return;
  };

  /** A pass started by the timers. */
  private async runDue(key: string): Promise<void> {
    const ctx = this.deps.dueContext(key);
    if (!ctx) return;
    // The cache is read inside the lock: a queue pass for this key may have just written status.
    await this.exclusive(key, () => this.pass(key, this.deps.cached(key), ctx));
  }

  private async pass(key: string, cached: HealthCheck | undefined, ctx: ReconcileContext): Promise<void> {
    const { client } = ctx;
    // The cache says whether the HealthCheck is ours (in the watched namespaces and alive).
    // The cached copy when it is the version this process last wrote or read (so it includes our own
    // last status write), else a GET.
    const hc = cached && (await this.versions.current(client, healthCheckResource, key, cached));
    if (!hc) {
      this.forget(key);
      const [namespace, name] = key.split('/') as [string, string];
      this.deps.metrics.remove(namespace, name);
      return;
    }
    if (hc.metadata.deletionTimestamp) {
      this.timers.delete(key);
      if (hasFinalizer(hc, FINALIZER)) await this.cleanup(hc, client, ctx.log);
      this.forget(key);
      return;
    }
    let live = hc;
    if (!hasFinalizer(hc, FINALIZER)) {
      live = await addFinalizer(client, healthCheckResource, hc, FINALIZER);
      this.versions.remember(key, live);
    }
    const pass: Pass = {
      hc: live,
      status: structuredClone(live.status ?? {}),
      now: this.deps.clock.now(),
      client,
      log: ctx.log,
      recorder: ctx.recorder,
    };
    // A step that throws writes nothing: the pass is repeated (with backoff) from the same status,
    // and the deterministic Workflow names make a repeated create an adoption.
    const wakeAt = await this.step(pass);
    await this.writeStatus(key, pass);
    this.timers.set(key, wakeAt);
  }

  private forget(key: string): void {
    this.versions.forget(key);
    this.timers.delete(key);
  }

  /** Runs `fn` when no other pass for `key` runs (queue and timers share it). */
  private async exclusive(key: string, fn: () => Promise<void>): Promise<void> {
    const before = this.locks.get(key);
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = before ? before.then(() => mine) : mine;
    this.locks.set(key, tail);
    try {
      if (before) await before;
      await fn();
    } finally {
      release();
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  /** Steps 2-5; returns when to look again (undefined: only on change). */
  private async step(p: Pass): Promise<Date | undefined> {
    const { hc } = p;
    const generation = hc.metadata.generation;
    let schedule: Schedule;
    try {
      schedule = parseSchedule(hc.spec);
    } catch (err) {
      if (!(err instanceof InvalidScheduleError)) throw err;
      this.setReady(p, 'False', 'InvalidSchedule', err.message);
      return;
    }

    const specChanged = p.status.observedGeneration !== generation;
    if (specChanged || getCondition(p.status.conditions, 'RBACReady')?.status !== 'True') {
      try {
        await ensureRbac(p.client, hc);
        this.condition(p, 'RBACReady', 'True', 'Granted', 'workflow ServiceAccounts and RBAC are in place');
      } catch (err) {
        if (!(err instanceof RbacForbiddenError)) throw err;
        this.condition(
          p,
          'RBACReady',
          'False',
          'RBACForbidden',
          `the controller may not grant these rules: ${err.message}`,
        );
        this.setReady(p, 'False', 'RBACForbidden', 'the controller may not grant the workflow RBAC rules');
        await this.event(p, 'Warning', 'RBACForbidden', 'GrantRBAC', err.message);
        return new Date(p.now.getTime() + (this.deps.retryAfterMs ?? 60_000));
      }
    }
    p.status.observedGeneration = generation;

    if (p.status.currentRun) {
      const wake = await this.progressRun(p, schedule);
      if (p.status.currentRun) return wake;
    }
    return this.schedule(p, schedule, specChanged);
  }

  /** Looks at the active run's Workflow; finishes it, times it out, or returns its deadline. */
  private async progressRun(p: Pass, schedule: Schedule): Promise<Date | undefined> {
    const run = p.status.currentRun as RunRecord;
    const wf = await this.getWorkflow(p.client, run.namespace, run.workflow);
    if (wf && isFinished(wf)) {
      await this.finish(p, run, wf.status?.phase as FinishPhase, wf.status?.message, schedule);
      return;
    }
    if (!wf) {
      await this.finish(p, run, 'Error', 'workflow disappeared before it finished', schedule);
      return;
    }
    const deadline = run.deadline ? new Date(run.deadline) : undefined;
    if (deadline && p.now.getTime() >= deadline.getTime()) {
      // Stop, not Terminate: exit handlers still run. Idempotent (a merge patch of one field).
      await p.client
        .patch(workflowResource, run.workflow, run.namespace, { spec: { shutdown: 'Stop' } })
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      const seconds = Math.round((deadline.getTime() - Date.parse(run.startedAt)) / 1000);
      await this.finish(p, run, 'TimedOut', `timed out after ${seconds}s; workflow stopped`, schedule);
      return;
    }
    this.setReady(
      p,
      'True',
      run.type === 'check' ? 'CheckRunning' : 'RemedyRunning',
      `workflow ${run.workflow} is running`,
    );
    return deadline;
  }

  private async finish(
    p: Pass,
    run: RunRecord,
    phase: FinishPhase,
    message: string | undefined,
    schedule: Schedule,
  ): Promise<void> {
    const { hc, now } = p;
    const ns = hc.metadata.namespace as string;
    const name = hc.metadata.name as string;
    p.status = recordFinish(p.status, run, phase, message, now, hc.metadata.generation);
    p.log.info({ workflow: run.workflow, type: run.type, phase }, 'run finished');
    const ok = phase === 'Succeeded';
    const seconds = (now.getTime() - Date.parse(run.startedAt)) / 1000;
    this.deps.metrics.finished(ns, name, run.type, ok, Math.max(0, seconds), now);
    const reason =
      run.type === 'check'
        ? ok
          ? 'RunSucceeded'
          : phase === 'TimedOut'
            ? 'RunTimedOut'
            : 'RunFailed'
        : ok
          ? 'RemedySucceeded'
          : 'RemedyFailed';
    // Events on transitions (STYLE): a success only when it ends a failure streak; failures always.
    const wasHealthy = getCondition(p.hc.status?.conditions, 'Healthy')?.status === 'True';
    if (!ok || run.type === 'remedy' || !wasHealthy) {
      const action = run.type === 'check' ? 'Check' : 'Remedy';
      await this.event(
        p,
        ok ? 'Normal' : 'Warning',
        reason,
        action,
        `workflow ${run.workflow}: ${message || phase}`,
      );
    }
    if (run.type === 'check' && !ok) await this.maybeRemedy(p, run, schedule);
    if (run.type === 'check' && ok) {
      this.condition(p, 'RemedyExhausted', 'False', 'CheckPassed', 'the check passed; remedy counters reset');
    }
  }

  private async maybeRemedy(p: Pass, failed: RunRecord, schedule: Schedule): Promise<void> {
    const { hc, now } = p;
    const decision = decideRemedy(hc.spec, p.status, now);
    if (decision.resetCounters) p.status = resetRemedyCounters(p.status);
    if (!decision.run) {
      if (decision.reason === 'LimitReached') {
        const until = decision.retryAfter ? ` until ${iso(decision.retryAfter)}` : ' until a check passes';
        p.status.remedyStatus = `Remedy limit of ${hc.spec.remedyRunsLimit} runs reached`;
        this.condition(
          p,
          'RemedyExhausted',
          'True',
          'LimitReached',
          `remedyRunsLimit ${hc.spec.remedyRunsLimit} reached; no remedy${until}`,
        );
        await this.event(
          p,
          'Warning',
          'RemedySkipped',
          'Remedy',
          `remedyRunsLimit ${hc.spec.remedyRunsLimit} reached`,
        );
      }
      return;
    }
    const block = hc.spec.remedyworkflow!;
    // Named after the failed check's slot: a repeat after a crash finds the same remedy Workflow.
    const slot = failed.scheduledAt ? new Date(failed.scheduledAt) : new Date(failed.startedAt);
    const submitted = await this.submit(
      p,
      'remedy',
      slot,
      runTimeoutSeconds(block.workflowtimeout, schedule, slot),
    );
    if (!submitted) return;
    const started = submitted.run;
    p.status.remedyTriggeredAt = iso(now);
    p.status.lastRemedyWorkflow = started.workflow;
    this.condition(p, 'RemedyExhausted', 'False', 'RemedyAllowed', 'remedy runs remain');
    await this.event(
      p,
      'Normal',
      'RemedyTriggered',
      'Remedy',
      `submitted remedy workflow ${started.workflow}`,
    );
  }

  private async schedule(p: Pass, schedule: Schedule, specChanged: boolean): Promise<Date | undefined> {
    const { hc, now } = p;
    const last = p.status.lastScheduleTime ? new Date(p.status.lastScheduleTime) : undefined;
    // Before the first run, nextRunAt is the persisted first slot, unless the spec changed since.
    const firstSlot = !last && p.status.nextRunAt && !specChanged ? new Date(p.status.nextRunAt) : undefined;
    const decision = decide(schedule, { lastScheduleTime: last, firstSlot }, now);
    if (decision.kind === 'paused') {
      p.status.status = 'Stopped';
      delete p.status.nextRunAt;
      this.setReady(
        p,
        'True',
        'Stopped',
        'repeatAfterSec is 0 and there is no schedule.cron: the check is paused',
      );
      return;
    }
    if (decision.kind === 'wait') {
      p.status.nextRunAt = iso(decision.until);
      this.setReady(p, 'True', 'Scheduled', `next check at ${iso(decision.until)}`);
      return decision.until;
    }
    // Whole seconds: status timestamps are RFC 3339 seconds, and the grid is computed from them.
    const slot = new Date(Math.floor(decision.slot.getTime() / 1000) * 1000);
    const timeout = runTimeoutSeconds(hc.spec.workflow.workflowtimeout, schedule, slot);
    const submitted = await this.submit(p, 'check', slot, timeout);
    if (!submitted) return;
    const { run } = submitted;
    const ns = hc.metadata.namespace as string;
    const name = hc.metadata.name as string;
    if (decision.missed > 0)
      this.deps.metrics.missed.inc({ namespace: ns, healthcheck_name: name }, decision.missed);
    // Drift: the slot's due time -> the API server accepted its Workflow (the create returned).
    if (submitted.created) {
      const drift = (this.deps.clock.now().getTime() - slot.getTime()) / 1000;
      this.deps.metrics.drift.observe(Math.max(0, drift));
    }
    p.log.info({ workflow: run.workflow, slot: iso(slot), missed: decision.missed }, 'check started');
    p.status.lastScheduleTime = iso(slot);
    p.status.startedAt = run.startedAt;
    const next = decision.next && new Date(Math.floor(decision.next.getTime() / 1000) * 1000);
    if (next) p.status.nextRunAt = iso(next);
    // A routine start is a log line; a start that skipped slots is worth an event.
    if (decision.missed > 0) {
      const note = `submitted workflow ${run.workflow} (${decision.missed} missed slot(s) skipped)`;
      await this.event(p, 'Normal', 'RunStarted', 'Check', note);
    }
    return run.deadline ? new Date(run.deadline) : undefined;
  }

  /**
   * Creates the run's Workflow (or adopts the one a crashed predecessor created) and records it as
   * `currentRun`. Returns undefined, with Ready=False, when the spec cannot produce a Workflow.
   */
  private async submit(
    p: Pass,
    type: RunType,
    slot: Date,
    timeoutSeconds: number,
  ): Promise<{ run: RunRecord; created: boolean } | undefined> {
    const { hc, now } = p;
    const block = type === 'check' ? hc.spec.workflow : hc.spec.remedyworkflow!;
    let wf: Workflow;
    try {
      const source = await this.deps.sources.load(block);
      wf = buildWorkflow({
        hc,
        block,
        type,
        name: workflowName(hc, block, type, slot),
        serviceAccount: serviceAccountFor(hc, type),
        timeoutSeconds,
        source,
        instanceId: this.deps.instanceId,
        scheduledAt: iso(slot),
      });
    } catch (err) {
      if (err instanceof SourceError || err instanceof InvalidWorkflowError) {
        const reason = err instanceof SourceError ? err.reason : 'InvalidWorkflow';
        this.setReady(p, 'False', reason, err.message);
        await this.event(p, 'Warning', reason, type === 'check' ? 'Check' : 'Remedy', err.message);
        return;
      }
      throw err;
    }
    const name = wf.metadata.name as string;
    const namespace = wf.metadata.namespace as string;
    let startedAt = now;
    let created = true;
    try {
      await p.client.create(workflowResource, wf);
    } catch (err) {
      created = false;
      if (!isAlreadyExists(err)) throw err;
      const existing = await this.getWorkflow(p.client, namespace, name);
      if (existing?.metadata.labels?.[HEALTHCHECK_UID_LABEL] !== hc.metadata.uid) {
        throw new Error(`workflow ${namespace}/${name} exists and belongs to something else`);
      }
      if (existing?.metadata.creationTimestamp) startedAt = new Date(existing.metadata.creationTimestamp);
      p.log.info({ workflow: name }, 'adopted workflow created before a restart');
    }
    const run: RunRecord = {
      workflow: name,
      namespace,
      type,
      scheduledAt: iso(slot),
      startedAt: iso(startedAt),
      deadline: iso(new Date(startedAt.getTime() + timeoutSeconds * 1000)),
    };
    p.status.currentRun = run;
    this.deps.metrics.started(hc.metadata.namespace as string, hc.metadata.name as string, type, startedAt);
    this.setReady(
      p,
      'True',
      type === 'check' ? 'CheckRunning' : 'RemedyRunning',
      `workflow ${name} is running`,
    );
    return { run, created };
  }

  private async getWorkflow(
    client: KubeClient,
    namespace: string,
    name: string,
  ): Promise<Workflow | undefined> {
    const key = `${namespace}/${name}`;
    const cached = this.deps.workflows.get(key);
    if (cached && isFinished(cached)) return cached;
    // The cache may not have seen a Workflow created a moment ago, or its latest phase yet.
    const live = await client.getOrUndefined<Workflow>(workflowResource, name, namespace);
    // Gone: deleted after it finished (Argo's ttlStrategy) is not "disappeared before it finished".
    return live ?? this.deletedFinished.get(key)?.workflow;
  }

  /**
   * A label-filtered Workflow that was deleted in a finished phase (the informer's delete event
   * carries its last state), kept until its HealthCheck's pass has counted it: Argo's ttlStrategy can
   * delete a Workflow before the pass that counts it runs. Entries expire after 10 minutes.
   */
  rememberDeletedFinished(wf: Workflow): void {
    const now = Date.now();
    for (const [key, entry] of this.deletedFinished) {
      if (now - entry.at < DELETED_FINISHED_TTL_MS && this.deletedFinished.size < DELETED_FINISHED_MAX) break;
      this.deletedFinished.delete(key);
    }
    this.deletedFinished.set(`${wf.metadata.namespace}/${wf.metadata.name}`, { workflow: wf, at: now });
  }

  private async cleanup(hc: HealthCheck, client: KubeClient, log: Logger): Promise<void> {
    const run = hc.status?.currentRun;
    if (run) {
      // Same-namespace Workflows also go by ownerReference; a cross-namespace one only this way.
      await client.delete(workflowResource, run.workflow, run.namespace);
    }
    await deleteRbac(client, hc);
    this.deps.metrics.remove(hc.metadata.namespace as string, hc.metadata.name as string);
    await removeFinalizer(client, healthCheckResource, hc, FINALIZER);
    log.info('HealthCheck cleaned up');
  }

  /** One status PUT guarded by resourceVersion; skipped when nothing changed. */
  private async writeStatus(key: string, p: Pass): Promise<void> {
    if (JSON.stringify(p.status) === JSON.stringify(p.hc.status ?? {})) return;
    const written = await p.client.update(healthCheckResource, { ...p.hc, status: p.status }, 'status');
    this.versions.remember(key, written);
  }

  private condition(
    p: Pass,
    type: string,
    status: Condition['status'],
    reason: string,
    message: string,
  ): void {
    p.status.conditions = setCondition(
      p.status.conditions,
      { type, status, reason, message },
      p.hc.metadata.generation,
      p.now,
    );
  }

  private setReady(p: Pass, status: Condition['status'], reason: string, message: string): void {
    this.condition(p, 'Ready', status, reason, message);
  }

  private event(
    p: Pass,
    type: 'Normal' | 'Warning',
    reason: string,
    action: string,
    note: string,
  ): Promise<void> {
    return p.recorder.event(p.hc, { type, reason, action, note });
  }
}

/** Keys of HealthChecks to reconcile when a Workflow they started changes. */
export function healthCheckKeysOf(wf: Workflow): string[] {
  const key = wf.metadata.annotations?.[HEALTHCHECK_ANNOTATION];
  return key && wf.metadata.labels?.[RUN_TYPE_LABEL] ? [key] : [];
}
