/**
 * The RollingUpgrade reconciler: observe (ASG, instances, nodes), plan (../planner, pure), act, and
 * record every step in status before or right after its effect, so a controller killed at any point
 * re-plans from the same facts: a step already recorded is not repeated, an effect whose record was
 * lost is recognised from AWS (an instance already in Standby, already terminating or gone).
 *
 * The effects of a pass (EnterStandby, hooks, cordon + drain, TerminateInstanceInAutoScalingGroup without
 * decrement, the `upgrademgr.keikoproj.io/state` tag) are in ./steps.ts, hook Jobs in ./hooks.ts. A
 * finalizer uncordons nodes, returns Standby instances and deletes hook Jobs when a CR is deleted.
 */
import { AutoScalingGroups, type AwsClients, Ec2 } from '@keiko/aws-kit';
import { uncordon } from '@keiko/node-kit';
import {
  type Condition,
  CoreResources,
  errorMessage,
  hasFinalizer,
  isConflict,
  type Manager,
  OwnVersions,
  predicates,
  type ReconcileContext,
  type Result,
  setCondition,
  TerminalError,
  withFinalizer,
} from '@keiko/operator-kit';
import type { Registry } from 'prom-client';
import { type RollingUpgrade, type RollingUpgradeStatus, RollingUpgrades } from '../api/rollingupgrade.js';
import type { Config } from '../config.js';
import { planInputFor } from '../planner/input.js';
import { planBatches, planRoll } from '../planner/plan.js';
import type { ObservedNode, PlanInput } from '../planner/types.js';
import { admissionBlocker, isFinished } from './admission.js';
import { HOOK_LABEL, type HookJob, HookRunner, Jobs, OWNER_ANNOTATION, slimJob } from './hooks.js';
import { UpgradeMetrics } from './metrics.js';
import {
  type AsgObservation,
  instanceIdOf,
  type NodeObject,
  observeAsg,
  observeNode,
  slimNode,
} from './observe.js';
import { rollSettings } from './settings.js';
import { executeSteps, iso, now } from './steps.js';

export { STATE_TAG } from './steps.js';

export const FINALIZER = 'upgrademgr.keikoproj.io/cleanup';
/** Upstream mirrors status.currentStatus into this label. */
export const STATUS_LABEL = 'rollingupgrade.keikoproj.io/current-status';

export interface ControllerDeps {
  config: Config;
  aws: AwsClients;
  registry: Registry;
}

/** Registers the RollingUpgrade controller on `manager`. */
export function rollingUpgradeController(manager: Manager, deps: ControllerDeps) {
  const { config, aws } = deps;
  const asgs = new AutoScalingGroups(aws);
  const ec2 = new Ec2(aws);
  const view = { aws, asgs, ec2 };
  const metrics = UpgradeMetrics.for(deps.registry);
  const nodes = manager.informer<NodeObject>(CoreResources.nodes, { transform: slimNode });
  const hookNamespace = config.hookNamespace;
  const jobs = manager.informer<HookJob>(Jobs, {
    namespace: hookNamespace,
    labelSelector: HOOK_LABEL,
    transform: slimJob,
  });
  const hookRunner = new HookRunner(manager.client, jobs, hookNamespace, config.hookImage);

  const nodeIndex = (): Map<string, ObservedNode> => {
    const out = new Map<string, ObservedNode>();
    for (const n of nodes.store.list()) {
      const o = observeNode(n);
      if (o) out.set(o.instanceId, o);
    }
    return out;
  };

  const stepDeps = { config, view, metrics, hookRunner, nodeIndex };

  /** The resourceVersion of each roll's last write (or live read) by this process. */
  const versions = new OwnVersions();
  const controller = manager.controller<RollingUpgrade>(RollingUpgrades, {
    name: 'rollingupgrade',
    workers: config.maxParallel,
    informer: config.namespace ? { namespace: config.namespace } : {},
    // Its own status writes do not wake a roll again: that pass would find what the writing pass just
    // left. Spec, annotations, finalizers and deletion do; progress is driven by Node and hook Job
    // events and the periodic requeue (ASGs have no watch).
    predicates: [
      predicates.any(
        predicates.generationChanged,
        predicates.annotationsChanged,
        predicates.deletionOrFinalizersChanged,
      ),
    ],
    reconcile: async ({ key, object }, ctx) => {
      if (!object) {
        versions.forget(key);
        return;
      }
      // The informer cache can be a few milliseconds behind this process's own last write (a Node
      // event can start a pass before the watch delivers it). A roll must not be planned from the
      // older status: a cached copy that is not the version this process last wrote or read is read live.
      // Not needed the first time a roll without our finalizer is seen: the finalizer's patch is
      // guarded by resourceVersion and its answer is the live object.
      const firstSight = versions.version(key) === undefined && !hasFinalizer(object, FINALIZER);
      const ru = firstSight ? object : await versions.current(ctx.client, RollingUpgrades, key, object);
      if (!ru) return;
      try {
        return await withFinalizer(ctx.client, RollingUpgrades, ru, FINALIZER, {
          apply: (live) => {
            versions.remember(key, live); // the finalizer's patch, when there was one
            return reconcileRoll(live, ctx, (rv) => versions.remember(key, rv));
          },
          cleanup: (live) => cleanup(live, ctx),
        });
      } catch (err) {
        // Someone else wrote in between (a spec edit, or a write the cache had not shown): the
        // writes are guarded by resourceVersion, so nothing was overwritten; plan again from the new one.
        if (isConflict(err)) {
          ctx.log.debug({ err: errorMessage(err) }, 'conflict; planning again');
          return { requeueAfter: 200 };
        }
        throw err;
      }
    },
  });

  // A node that appears, goes, or changes readiness/schedulability wakes the roll whose ASG holds its
  // instance (as last observed: a hint kept in memory only), else every running roll.
  const instanceOwner = new Map<string, string>();
  const running = () =>
    controller.primary.store
      .list()
      .filter((o) => o.status?.currentStatus === 'running')
      .map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
  const wakeFor = (node: NodeObject) => {
    const owner = instanceOwner.get(instanceIdOf(node) ?? '');
    return owner ? [owner] : running();
  };
  controller.watches(nodes, wakeFor, [
    (o, n) => {
      const a = observeNode(o);
      const b = observeNode(n);
      return a?.ready !== b?.ready || a?.unschedulable !== b?.unschedulable;
    },
  ]);

  // A hook Job that changes wakes its RollingUpgrade (named in an annotation: it may live elsewhere).
  controller.watches(jobs, (job) => {
    const key = job.metadata.annotations?.[OWNER_ANNOTATION];
    return key ? [key] : [];
  });

  async function reconcileRoll(
    ru: RollingUpgrade,
    ctx: ReconcileContext,
    wrote: (resourceVersion: string) => void,
  ): Promise<Result | undefined> {
    const status: RollingUpgradeStatus = structuredClone(ru.status ?? {});
    const generation = ru.metadata.generation;
    const condition = (type: string, s: Condition['status'], reason: string, message = '') => {
      status.conditions = setCondition(
        status.conditions as Condition[] | undefined,
        { type, status: s, reason, message },
        generation,
      );
    };
    let savedLabel = ru.metadata.labels?.[STATUS_LABEL];
    // A pass that changed nothing writes nothing (10 rolls woken by every node event add up).
    let lastSaved = JSON.stringify(ru.status ?? {});
    // Every write carries the resourceVersion the pass read (then the one its last write returned):
    // a pass that started from a cache older than the last write gets a 409 and is retried from
    // the newer object, instead of writing back progress computed from the older one.
    let resourceVersion = ru.metadata.resourceVersion;
    const save = async () => {
      status.observedGeneration = generation;
      const text = JSON.stringify(status);
      if (text === lastSaved && status.currentStatus === savedLabel) return;
      // The label mirrors status.currentStatus; written first so whoever sees the new status also
      // finds the label already matching.
      if (status.currentStatus && status.currentStatus !== savedLabel) {
        const labelled = await ctx.client.patch<RollingUpgrade>(
          RollingUpgrades,
          ru.metadata.name!,
          ru.metadata.namespace,
          { metadata: { resourceVersion, labels: { [STATUS_LABEL]: status.currentStatus } } },
        );
        resourceVersion = labelled.metadata.resourceVersion;
        wrote(resourceVersion!);
        savedLabel = status.currentStatus;
      }
      const written = await ctx.client.patch<RollingUpgrade>(
        RollingUpgrades,
        ru.metadata.name!,
        ru.metadata.namespace,
        { metadata: { resourceVersion }, status },
        'merge',
        'status',
      );
      resourceVersion = written.metadata.resourceVersion;
      wrote(resourceVersion!);
      lastSaved = text;
    };
    const fail = async (reason: string, message: string) => {
      const end = now();
      status.currentStatus = 'error';
      status.endTime = iso(end);
      if (status.startTime)
        status.totalProcessingTime = goDuration(end.getTime() - Date.parse(status.startTime));
      condition('Ready', 'False', reason, message);
      condition('Progressing', 'False', reason, message);
      await save();
      await ctx.recorder.event(ru, {
        type: 'Warning',
        reason: 'RollingUpgradeFailed',
        action: 'Roll',
        note: message,
      });
    };

    if (isFinished(ru)) return expireAfterTtl(ru, ctx);

    if (ru.spec.paused) {
      condition('Paused', 'True', 'SpecPaused', 'spec.paused is set: no new step starts');
      await save();
      return;
    }
    if (
      status.conditions?.some((c) => c.type === 'Paused' && c.reason === 'SpecPaused' && c.status === 'True')
    ) {
      condition('Paused', 'False', 'Resumed', '');
    }

    const blocker = admissionBlocker(ru, controller.primary.store.list(), config.maxParallel);
    if (blocker) {
      status.currentStatus ??= 'init';
      condition('Progressing', 'False', 'WaitingForAdmission', blocker);
      condition('Ready', 'False', 'WaitingForAdmission', blocker);
      await save();
      return { requeueAfter: 15_000 };
    }

    const observed = await observeAsg(view, ru.spec.asgName, { freshTemplates: !status.startTime });
    if (!observed) {
      await fail('AsgNotFound', `Auto Scaling group ${ru.spec.asgName} does not exist`);
      throw new TerminalError(`ASG ${ru.spec.asgName} not found`);
    }
    const remember = (asg: AsgObservation | undefined) => {
      if (!asg) return asg;
      const key = `${ru.metadata.namespace}/${ru.metadata.name}`;
      const ids = new Set(asg.instances.map((i) => i.instanceId));
      for (const [id, owner] of instanceOwner) if (owner === key && !ids.has(id)) instanceOwner.delete(id);
      for (const id of ids) instanceOwner.set(id, key);
      return asg;
    };
    remember(observed);
    let settings: PlanInput['settings'];
    try {
      settings = rollSettings(ru.spec, observed.desiredCapacity);
    } catch (err) {
      await fail('InvalidSpec', `spec.strategy: ${errorMessage(err)}`);
      throw new TerminalError(errorMessage(err));
    }

    const start = status.startTime ? new Date(status.startTime) : now();
    const planInput = (asg: AsgObservation): PlanInput =>
      planInputFor(ru, status, asg, nodeIndex(), settings, {
        startedAt: start,
        now: now(),
        surgeBudget: surgeBudget(ru),
        hold: failedHooks(status)[0],
      });

    if (ru.spec.dryRun) {
      const input = planInput(observed);
      const plan = planRoll(input);
      status.currentStatus = 'init';
      status.plan = planBatches(input);
      status.drifted = plan.drifted;
      condition('Ready', 'False', 'DryRun', `dry run: ${status.plan.length} batches, nothing changed`);
      await save();
      return;
    }

    let started: Promise<void> | undefined;
    const starting = status.currentStatus !== 'running';
    if (starting) {
      status.currentStatus = 'running';
      status.startTime ??= iso(start);
      condition('Progressing', 'True', 'Rolling', `rolling ${ru.spec.asgName}`);
      // The event goes alongside the first steps (the recorder never throws).
      started = ctx.recorder.event(ru, {
        type: 'Normal',
        reason: 'RollingUpgradeStarted',
        action: 'Roll',
        note: `rolling ASG ${ru.spec.asgName} (${settings.mode}, maxUnavailable ${settings.maxUnavailable})`,
      });
    }

    const plan = planRoll(planInput(observed));
    if (plan.neverJoined.length > 0) {
      await started;
      await fail('NeverJoined', `instances never joined the cluster: ${plan.neverJoined.join(', ')}`);
      return;
    }
    // `running` and the start time are recorded before any effect: by the first save of the steps
    // (every step path saves before it calls AWS), or here when there is no step yet.
    if (starting && plan.steps.length === 0) await save();
    if (plan.steps.length > 0)
      ctx.log.debug({ steps: plan.steps.map((s) => `${s.step}:${s.instanceId}`) }, 'steps');
    await executeSteps(stepDeps, ru, ctx, plan.steps, status, save, settings.mode, observed.name);
    await started;

    // Progress and conditions from a fresh look after the effects.
    let after = planRoll(planInput(remember(await observeAsg(view, ru.spec.asgName)) ?? observed));
    if (after.done) {
      // Done is final: confirm against a fresh look at the templates (a version may be minutes new).
      after = planRoll(
        planInput((await observeAsg(view, ru.spec.asgName, { freshTemplates: true })) ?? observed),
      );
    }
    status.totalNodes = observed.desiredCapacity;
    status.nodesProcessed = Math.max(0, observed.desiredCapacity - after.drifted.length);
    status.completePercentage = `${observed.desiredCapacity ? Math.floor((100 * status.nodesProcessed) / observed.desiredCapacity) : 100}%`;
    status.drifted = after.drifted;
    if (status.currentStatus === 'error') return;
    // A postTerminate hook still running keeps the roll going (its instance is Terminating).
    if (after.done && !status.instances?.some((i) => i.phase === 'Terminating')) {
      const end = now();
      status.currentStatus = 'completed';
      status.endTime = iso(end);
      status.totalProcessingTime = goDuration(end.getTime() - start.getTime());
      status.completePercentage = '100%';
      status.nodesProcessed = observed.desiredCapacity;
      condition(
        'Complete',
        'True',
        'Completed',
        'every instance runs the current configuration and is Ready',
      );
      condition('Progressing', 'False', 'Completed', '');
      condition('Ready', 'True', 'Completed', '');
      condition('Paused', 'False', 'Completed', '');
      await save();
      await ctx.recorder.event(ru, {
        type: 'Normal',
        reason: 'RollingUpgradeFinished',
        action: 'Roll',
        note: `rolled ${(status.instances ?? []).filter((i) => i.phase === 'Terminated').length} instances in ${status.totalProcessingTime}`,
      });
      return expireAfterTtl({ ...ru, status }, ctx);
    }
    const hookFailures = failedHooks(status);
    if (hookFailures.length > 0) {
      const message = `${hookFailures.join('; ')}; no new batch starts until the Job is deleted (the hook then runs again) or ignoreFailure is set`;
      condition('Ready', 'False', 'HookFailed', message);
      condition('Paused', 'True', 'HookFailed', message);
    } else if (after.unreadyReplacements.length > 0) {
      const message = `replacement instances are not Ready nodes within ${settings.replacementReadyTimeoutMs / 1000}s: ${after.unreadyReplacements.join(', ')}`;
      const wasPaused = status.conditions?.some(
        (c) => c.type === 'Ready' && c.reason === 'ReplacementsNotReady',
      );
      condition('Ready', 'False', 'ReplacementsNotReady', message);
      condition('Paused', 'True', 'ReplacementsNotReady', message);
      if (!wasPaused)
        await ctx.recorder.event(ru, {
          type: 'Warning',
          reason: 'ReplacementsNotReady',
          action: 'Roll',
          note: message,
        });
    } else {
      condition('Paused', 'False', 'NotPaused', '');
      condition('Ready', 'False', 'Rolling', after.waiting ? `waiting for ${after.waiting}` : 'rolling');
    }
    ctx.log.debug({ waiting: after.waiting, drifted: after.drifted.length }, 'pass');
    condition(
      'Progressing',
      'True',
      after.waiting ? 'Waiting' : 'Rolling',
      after.waiting ? `waiting for ${after.waiting}` : '',
    );
    await save();
    return { requeueAfter: config.requeueSeconds * 1000 };
  }

  /** Eager surge still allowed controller-wide: --max-replacement-nodes minus other rolls' Standby instances. */
  function surgeBudget(ru: RollingUpgrade): number {
    if (config.maxReplacementNodes <= 0) return Number.POSITIVE_INFINITY;
    let inFlight = 0;
    for (const o of controller.primary.store.list()) {
      if (o.metadata.uid === ru.metadata.uid || isFinished(o)) continue;
      inFlight += (o.status?.instances ?? []).filter(
        (i) => i.phase === 'Standby' || (o.spec.strategy?.mode === 'eager' && i.phase === 'Selected'),
      ).length;
    }
    return Math.max(0, config.maxReplacementNodes - inFlight);
  }

  /** Deleted: its hook Jobs go; mid-roll, also uncordon the nodes it cordoned and return its Standby instances to service. */
  async function cleanup(ru: RollingUpgrade, ctx: ReconcileContext): Promise<void> {
    const hookJobs = await hookRunner.deleteAll(ru);
    if (hookJobs > 0) ctx.log.info({ hookJobs }, 'deleted hook Jobs');
    if (isFinished(ru)) return;
    const records = ru.status?.instances ?? [];
    // Cordoned by this roll and not terminated: back in service.
    const cordoned = records.filter(
      (r) =>
        (r.phase === 'Draining' || r.phase === 'Terminating' || r.phase === 'Failed') && !r.terminationTime,
    );
    for (const r of cordoned) {
      const nodeName = nodeIndex().get(r.instanceId)?.name ?? r.nodeName;
      if (nodeName) await uncordon(ctx.client, nodeName);
    }
    // Eager: whatever of this roll is in Standby (selected, waiting, draining, or waiting for a hook).
    const mine = new Set(
      records.filter((r) => r.phase !== 'Terminated' && !r.terminationTime).map((r) => r.instanceId),
    );
    let exited: string[] = [];
    if (mine.size > 0) {
      const fresh = await observeAsg(view, ru.spec.asgName, { fresh: true });
      exited =
        fresh?.instances
          .filter((i) => i.lifecycleState === 'Standby' && mine.has(i.instanceId))
          .map((i) => i.instanceId) ?? [];
      if (exited.length > 0) await asgs.exitStandby(ru.spec.asgName, exited);
    }
    ctx.log.info({ uncordoned: cordoned.length, exitedStandby: exited.length }, 'cleaned up a deleted roll');
  }

  async function expireAfterTtl(ru: RollingUpgrade, ctx: ReconcileContext): Promise<Result | undefined> {
    const ttl = ru.spec.ttlSecondsAfterFinished;
    const end = ru.status?.endTime;
    if (ttl === undefined || !end) return;
    const remaining = Date.parse(end) + ttl * 1000 - Date.now();
    if (remaining > 0) return { requeueAfter: remaining };
    await ctx.client.delete(RollingUpgrades, ru.metadata.name!, ru.metadata.namespace);
    return;
  }

  return controller;
}

/** The instances whose hook Job failed (and is not ignored), as `i-0abc: hook preDrain failed (...)`. */
function failedHooks(status: RollingUpgradeStatus): string[] {
  return (status.instances ?? [])
    .filter((i) => i.phase !== 'Terminated' && i.hooks?.some((h) => h.result === 'Failed'))
    .map((i) => `${i.instanceId}: ${i.message ?? 'hook failed'}`);
}

/** Go's time.Duration.String() for whole seconds: `1h2m3s`, `4m0s`, `12s`. */
export function goDuration(ms: number): string {
  let s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
