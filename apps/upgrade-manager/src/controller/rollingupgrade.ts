/**
 * The RollingUpgrade reconciler: observe (ASG, instances, nodes), plan (../planner, pure), act, and
 * record every step in status before or right after its effect, so a controller killed at any point
 * re-plans from the same facts: a step already recorded is not repeated, an effect whose record was
 * lost is recognised from AWS (an instance already in Standby, already terminating or gone).
 *
 * Effects: EnterStandby (eager), cordon + drain through @keiko/node-kit, TerminateInstanceInAutoScalingGroup
 * without decrement (the ASG keeps its capacity), and the `upgrademgr.keikoproj.io/state` instance tag
 * upstream used. A finalizer uncordons nodes and returns Standby instances when a CR is deleted mid-roll.
 */
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { AutoScalingGroups, type AwsClients, Ec2 } from '@keiko/aws-kit';
import { drainNode, uncordon } from '@keiko/node-kit';
import {
  type Condition,
  CoreResources,
  errorMessage,
  type Manager,
  type ReconcileContext,
  type Result,
  setCondition,
  TerminalError,
  withFinalizer,
} from '@keiko/operator-kit';
import type { Registry } from 'prom-client';
import {
  type InstanceProgress,
  type RollingUpgrade,
  type RollingUpgradeStatus,
  RollingUpgrades,
} from '../api/rollingupgrade.js';
import type { Config } from '../config.js';
import { planBatches, planRoll } from '../planner/plan.js';
import type { ObservedNode, PlanInput, PlannedStep } from '../planner/types.js';
import { admissionBlocker, isFinished } from './admission.js';
import { UpgradeMetrics } from './metrics.js';
import { type AsgObservation, type NodeObject, observeAsg, observeNode } from './observe.js';
import { drainTimeoutMs, rollSettings } from './settings.js';

export const FINALIZER = 'upgrademgr.keikoproj.io/cleanup';
/** Upstream mirrors status.currentStatus into this label. */
export const STATUS_LABEL = 'rollingupgrade.keikoproj.io/current-status';
/** Upstream's instance tag: `in-progress` while replaced, `failed-drain` after a failed drain. */
export const STATE_TAG = 'upgrademgr.keikoproj.io/state';

export interface ControllerDeps {
  config: Config;
  aws: AwsClients;
  registry: Registry;
}

const now = () => new Date();
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Registers the RollingUpgrade controller on `manager`. */
export function rollingUpgradeController(manager: Manager, deps: ControllerDeps) {
  const { config, aws } = deps;
  const asgs = new AutoScalingGroups(aws);
  const ec2 = new Ec2(aws);
  const metrics = UpgradeMetrics.for(deps.registry);
  const nodes = manager.informer<NodeObject>(CoreResources.nodes);

  const nodeIndex = (): Map<string, ObservedNode> => {
    const out = new Map<string, ObservedNode>();
    for (const n of nodes.store.list()) {
      const o = observeNode(n);
      if (o) out.set(o.instanceId, o);
    }
    return out;
  };

  const controller = manager.controller<RollingUpgrade>(RollingUpgrades, {
    name: 'rollingupgrade',
    workers: config.maxParallel,
    informer: config.namespace ? { namespace: config.namespace } : {},
    reconcile: async ({ object }, ctx) => {
      if (!object) return;
      return withFinalizer(ctx.client, RollingUpgrades, object, FINALIZER, {
        apply: (ru) => reconcileRoll(ru, ctx),
        cleanup: (ru) => cleanup(ru, ctx),
      });
    },
  });

  // A node that appears, goes, or changes readiness/schedulability wakes the running rolls.
  const running = () =>
    controller.primary.store
      .list()
      .filter((o) => o.status?.currentStatus === 'running')
      .map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
  controller.watches(nodes, running, [
    (o, n) => {
      const a = observeNode(o);
      const b = observeNode(n);
      return a?.ready !== b?.ready || a?.unschedulable !== b?.unschedulable;
    },
  ]);

  async function reconcileRoll(ru: RollingUpgrade, ctx: ReconcileContext): Promise<Result | undefined> {
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
    const save = async () => {
      status.observedGeneration = generation;
      // The label mirrors status.currentStatus; written first so whoever sees the new status also
      // finds the label already matching.
      if (status.currentStatus && status.currentStatus !== savedLabel) {
        await ctx.client.patch(RollingUpgrades, ru.metadata.name!, ru.metadata.namespace, {
          metadata: { labels: { [STATUS_LABEL]: status.currentStatus } },
        });
        savedLabel = status.currentStatus;
      }
      await ctx.client.patch(
        RollingUpgrades,
        ru.metadata.name!,
        ru.metadata.namespace,
        { status },
        'merge',
        'status',
      );
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

    const observed = await observeAsg(asgs, ec2, ru.spec.asgName);
    if (!observed) {
      await fail('AsgNotFound', `Auto Scaling group ${ru.spec.asgName} does not exist`);
      throw new TerminalError(`ASG ${ru.spec.asgName} not found`);
    }
    let settings: PlanInput['settings'];
    try {
      settings = rollSettings(ru.spec, observed.desiredCapacity);
    } catch (err) {
      await fail('InvalidSpec', `spec.strategy: ${errorMessage(err)}`);
      throw new TerminalError(errorMessage(err));
    }

    const start = status.startTime ? new Date(status.startTime) : now();
    const planInput = (asg: AsgObservation): PlanInput => ({
      desiredCapacity: asg.desiredCapacity,
      instances: asg.instances,
      target: asg.target,
      nodes: nodeIndex(),
      settings,
      progress: status.instances ?? [],
      createdAt: new Date(ru.metadata.creationTimestamp ?? start),
      startedAt: start,
      now: now(),
      lastTerminationTime: status.lastTerminationTime ? new Date(status.lastTerminationTime) : undefined,
      lastDrainTime: status.lastDrainTime ? new Date(status.lastDrainTime) : undefined,
      surgeBudget: surgeBudget(ru),
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

    if (status.currentStatus !== 'running') {
      status.currentStatus = 'running';
      status.startTime ??= iso(start);
      condition('Progressing', 'True', 'Rolling', `rolling ${ru.spec.asgName}`);
      await save();
      await ctx.recorder.event(ru, {
        type: 'Normal',
        reason: 'RollingUpgradeStarted',
        action: 'Roll',
        note: `rolling ASG ${ru.spec.asgName} (${settings.mode}, maxUnavailable ${settings.maxUnavailable})`,
      });
    }

    const plan = planRoll(planInput(observed));
    if (plan.neverJoined.length > 0) {
      await fail('NeverJoined', `instances never joined the cluster: ${plan.neverJoined.join(', ')}`);
      return;
    }
    await execute(ru, ctx, plan.steps, status, save, settings.mode, observed.name);

    // Progress and conditions from a fresh look after the effects.
    const after = planRoll(planInput((await observeAsg(asgs, ec2, ru.spec.asgName)) ?? observed));
    status.totalNodes = observed.desiredCapacity;
    status.nodesProcessed = Math.max(0, observed.desiredCapacity - after.drifted.length);
    status.completePercentage = `${observed.desiredCapacity ? Math.floor((100 * status.nodesProcessed) / observed.desiredCapacity) : 100}%`;
    status.drifted = after.drifted;
    if (status.currentStatus === 'error') return;
    if (after.done) {
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
      await save();
      await ctx.recorder.event(ru, {
        type: 'Normal',
        reason: 'RollingUpgradeFinished',
        action: 'Roll',
        note: `rolled ${(status.instances ?? []).filter((i) => i.phase === 'Terminated').length} instances in ${status.totalProcessingTime}`,
      });
      return expireAfterTtl({ ...ru, status }, ctx);
    }
    if (after.unreadyReplacements.length > 0) {
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
    condition(
      'Progressing',
      'True',
      after.waiting ? 'Waiting' : 'Rolling',
      after.waiting ? `waiting for ${after.waiting}` : '',
    );
    await save();
    return { requeueAfter: config.requeueSeconds * 1000 };
  }

  /** Carries out the planned steps in order; status is saved before each effect and after it. */
  async function execute(
    ru: RollingUpgrade,
    ctx: ReconcileContext,
    steps: PlannedStep[],
    status: RollingUpgradeStatus,
    save: () => Promise<void>,
    mode: 'lazy' | 'eager',
    asgName: string,
  ): Promise<void> {
    const records = new Map((status.instances ?? []).map((r) => [r.instanceId, r]));
    const setPhase = (
      id: string,
      phase: InstanceProgress['phase'],
      extra: Partial<InstanceProgress> = {},
    ) => {
      const previous = records.get(id) ?? { instanceId: id, phase };
      if (previous.phaseSince && previous.phase !== phase) {
        const seconds = (Date.now() - Date.parse(previous.phaseSince)) / 1000;
        const step = { Standby: 'standby', Draining: 'drain', Terminating: 'terminate' }[
          previous.phase as string
        ];
        if (step) metrics.stepDuration.observe({ step }, seconds);
      }
      const next = {
        ...previous,
        ...extra,
        phase,
        phaseSince: previous.phase === phase && previous.phaseSince ? previous.phaseSince : iso(now()),
      };
      records.set(id, next);
      status.instances = [...records.values()];
    };
    const of = (step: PlannedStep['step']) => steps.filter((s) => s.step === step);

    // Bookkeeping first: effects found already done (after a restart), then the new batch.
    for (const s of of('recordTerminated')) setPhase(s.instanceId, 'Terminated');
    for (const s of of('recordStandby')) setPhase(s.instanceId, 'Standby');
    const selected = of('select');
    for (const s of selected) {
      setPhase(s.instanceId, 'Selected', {
        nodeName: s.nodeName,
        availabilityZone: s.availabilityZone,
        driftReason: s.driftReason,
      });
    }
    if (selected.length > 0) status.lastBatchNodes = selected.map((s) => s.nodeName ?? s.instanceId);
    if (steps.length > 0) await save();
    if (selected.length > 0) {
      await tagInstances(
        selected.map((s) => s.instanceId),
        'in-progress',
      );
      await ctx.recorder.event(ru, {
        type: 'Normal',
        reason: 'RollingUpgradeBatchStarted',
        action: 'Select',
        note: `replacing ${selected.map((s) => `${s.instanceId} (${s.driftReason})`).join(', ')}`.slice(
          0,
          1000,
        ),
      });
    }

    // Eager: to Standby, so the ASG launches the replacements while the old nodes still serve.
    const standby = mode === 'eager' ? [...of('enterStandby'), ...selected] : [];
    if (standby.length > 0) {
      const ids = standby.map((s) => s.instanceId);
      const fresh = await observeAsg(asgs, ec2, asgName, { fresh: true });
      const inService = new Set(
        fresh?.instances.filter((i) => i.lifecycleState === 'InService').map((i) => i.instanceId),
      );
      const toStandby = ids.filter((id) => inService.has(id));
      if (toStandby.length > 0) await asgs.enterStandby(asgName, toStandby, false);
      for (const id of ids) setPhase(id, 'Standby');
      await save();
    }

    // Drain (lazy: the new batch at once; eager: once replacements are Ready), then terminate.
    const drains = [...of('drain'), ...(mode === 'lazy' ? selected : [])];
    const terminations = of('terminate').map((s) => s.instanceId);
    if (drains.length > 0) {
      for (const s of drains) setPhase(s.instanceId, 'Draining', s.nodeName ? { nodeName: s.nodeName } : {});
      status.lastBatchNodes = drains.map((s) => s.nodeName ?? s.instanceId);
      await save();
      const timeoutMs = drainTimeoutMs(ru.spec, config);
      const ignoreFailures = ru.spec.ignoreDrainFailures ?? config.ignoreDrainFailures;
      const outcomes = await Promise.all(
        drains.map(async (s) => {
          const nodeName = nodeIndex().get(s.instanceId)?.name ?? s.nodeName;
          if (!nodeName) return { s, ok: true, message: 'no node to drain' };
          try {
            const result = await drainNode(ctx.client, nodeName, { timeoutMs, signal: ctx.signal });
            if (result.completed) return { s, ok: true, message: `drained ${result.evicted.length} pods` };
            const blocked = result.blocked.map((b) => `${b.pod}: ${b.reason}`).join('; ');
            return { s, ok: false, message: `drain did not complete: ${blocked}`.slice(0, 1000) };
          } catch (err) {
            if (ctx.signal.aborted) throw err;
            return { s, ok: false, message: `drain failed: ${errorMessage(err)}` };
          }
        }),
      );
      status.lastDrainTime = iso(now());
      const failed = outcomes.filter((o) => !o.ok && !ignoreFailures);
      for (const o of outcomes) {
        if (o.ok || ignoreFailures) {
          setPhase(o.s.instanceId, 'Terminating', { message: o.message });
          terminations.push(o.s.instanceId);
        } else {
          setPhase(o.s.instanceId, 'Failed', { message: o.message });
        }
      }
      await save();
      if (failed.length > 0) {
        await tagInstances(
          failed.map((o) => o.s.instanceId),
          'failed-drain',
        );
        // Failed nodes stay in service: undo the cordon rather than leave capacity stranded.
        for (const o of failed) {
          const nodeName = nodeIndex().get(o.s.instanceId)?.name;
          if (nodeName) await uncordon(ctx.client, nodeName);
        }
        const message = failed.map((o) => `${o.s.instanceId}: ${o.message}`).join('; ');
        status.currentStatus = 'error';
        status.endTime = iso(now());
        status.conditions = setCondition(
          status.conditions as Condition[] | undefined,
          { type: 'Ready', status: 'False', reason: 'DrainFailed', message },
          ru.metadata.generation,
        );
        status.conditions = setCondition(
          status.conditions as Condition[],
          { type: 'Progressing', status: 'False', reason: 'DrainFailed', message },
          ru.metadata.generation,
        );
        await save();
        await ctx.recorder.event(ru, {
          type: 'Warning',
          reason: 'DrainFailed',
          action: 'Drain',
          note: message.slice(0, 1000),
        });
      }
    }

    for (const id of terminations) {
      try {
        await asgs.terminateInstance(id, false);
      } catch (err) {
        // Already gone (or terminating) is what we wanted; anything else is retried by the next pass.
        const fresh = await observeAsg(asgs, ec2, asgName, { fresh: true });
        const still = fresh?.instances.find((i) => i.instanceId === id);
        if (still && !still.lifecycleState.startsWith('Terminat')) throw err;
      }
      setPhase(id, 'Terminated');
      status.lastTerminationTime = iso(now());
      await save();
      metrics.nodesRotated.inc({ asg: asgName });
      await ctx.recorder.event(ru, {
        type: 'Normal',
        reason: 'RollingUpgradeInstanceFinished',
        action: 'Terminate',
        note: `terminated ${id}${records.get(id)?.nodeName ? ` (node ${records.get(id)?.nodeName})` : ''}`,
      });
    }
  }

  async function tagInstances(ids: string[], value: string): Promise<void> {
    if (ids.length === 0) return;
    try {
      await aws.ec2.send(new CreateTagsCommand({ Resources: ids, Tags: [{ Key: STATE_TAG, Value: value }] }));
    } catch {
      // The tag is informational (upstream compatibility); status holds the progress.
    }
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

  /** Deleted mid-roll: uncordon the nodes this roll cordoned, return its Standby instances to service. */
  async function cleanup(ru: RollingUpgrade, ctx: ReconcileContext): Promise<void> {
    if (isFinished(ru)) return;
    const records = ru.status?.instances ?? [];
    for (const r of records) {
      if (r.phase === 'Draining' || r.phase === 'Terminating' || r.phase === 'Failed') {
        const nodeName = nodeIndex().get(r.instanceId)?.name ?? r.nodeName;
        if (nodeName) await uncordon(ctx.client, nodeName);
      }
    }
    const standby = records
      .filter((r) => r.phase === 'Standby' || r.phase === 'Selected')
      .map((r) => r.instanceId);
    if (standby.length > 0) {
      const fresh = await observeAsg(asgs, ec2, ru.spec.asgName, { fresh: true });
      const inStandby =
        fresh?.instances
          .filter((i) => i.lifecycleState === 'Standby' && standby.includes(i.instanceId))
          .map((i) => i.instanceId) ?? [];
      if (inStandby.length > 0) await asgs.exitStandby(ru.spec.asgName, inStandby);
    }
    ctx.log.info({ uncordoned: records.length, exitedStandby: standby.length }, 'cleaned up a deleted roll');
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
