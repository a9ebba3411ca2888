/**
 * Effects of one reconcile pass: carries out the planner's steps for a RollingUpgrade, in order,
 * recording each in status before or right after its effect (select and tag, EnterStandby, preDrain
 * hook, cordon and drain, postDrain/postWait hooks, TerminateInstanceInAutoScalingGroup, postTerminate
 * hook). Every step is idempotent and recognises an effect whose record was lost (a restart).
 */
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import type { AwsClients } from '@keiko/aws-kit';
import { drainNode, uncordon } from '@keiko/node-kit';
import { type Condition, errorMessage, type ReconcileContext, setCondition } from '@keiko/operator-kit';
import type { InstanceProgress, RollingUpgrade, RollingUpgradeStatus } from '../api/rollingupgrade.js';
import type { Config } from '../config.js';
import type { ObservedNode, PlannedStep } from '../planner/types.js';
import { type HookDefinition, type HookRunner, hooksAt } from './hooks.js';
import type { UpgradeMetrics } from './metrics.js';
import { type AwsView, observeAsg } from './observe.js';
import { drainTimeoutMs } from './settings.js';

/** Upstream's instance tag: `in-progress` while replaced, `failed-drain` after a failed drain. */
export const STATE_TAG = 'upgrademgr.keikoproj.io/state';

export const now = () => new Date();
/** RFC 3339 with whole seconds, as metav1.Time. */
export const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface StepDeps {
  config: Config;
  view: AwsView;
  metrics: UpgradeMetrics;
  hookRunner: HookRunner;
  /** Nodes by instance id, from the informer cache. */
  nodeIndex: () => Map<string, ObservedNode>;
}

/** Carries out the planned steps in order; status is saved before each effect and after it. */
export async function executeSteps(
  deps: StepDeps,
  ru: RollingUpgrade,
  ctx: ReconcileContext,
  steps: PlannedStep[],
  status: RollingUpgradeStatus,
  save: () => Promise<void>,
  mode: 'lazy' | 'eager',
  asgName: string,
): Promise<void> {
  const { config, view, metrics, hookRunner, nodeIndex } = deps;
  const { aws, asgs } = view;
  const hookNamespace = config.hookNamespace;
  const records = new Map((status.instances ?? []).map((r) => [r.instanceId, r]));
  const setPhase = (id: string, phase: InstanceProgress['phase'], extra: Partial<InstanceProgress> = {}) => {
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
  // Gone from AWS: Terminated, unless it was terminated by this roll and its postTerminate hook is due.
  const postTerminateOnly: string[] = [];
  for (const s of of('recordTerminated')) {
    const record = records.get(s.instanceId);
    if (record?.phase === 'Terminating' && hooksAt(ru.spec, 'afterTerminate').length > 0) {
      if (!record.terminationTime) setPhase(s.instanceId, 'Terminating', { terminationTime: iso(now()) });
      postTerminateOnly.push(s.instanceId);
    } else {
      setPhase(s.instanceId, 'Terminated');
    }
  }
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
  // Lazy without preDrain hooks: a new batch is recorded as Draining in the save before its cordon
  // (below), with no effect in between, so it is not saved as Selected first. Eager saves Selected
  // before EnterStandby, and a preDrain hook's Job must not exist before its instance is recorded (a
  // restart would pick the batch again, maybe other instances, and leave the hook run for nothing).
  const deferSelected =
    mode === 'lazy' && selected.length > 0 && hooksAt(ru.spec, 'beforeDrain').length === 0;
  if (steps.length > 0 && !deferSelected) await save();
  // The upstream tag and the batch event are informational: they go alongside the drain and the
  // terminate calls, after the batch is recorded, not on the way from "replacements Ready" to the
  // next termination (awaited at the end of the pass, or before a `failed-drain` tag).
  const announceBatch = async () => {
    if (selected.length === 0) return;
    await Promise.all([
      tagInstances(
        aws,
        selected.map((s) => s.instanceId),
        'in-progress',
      ),
      ctx.recorder.event(ru, {
        type: 'Normal',
        reason: 'RollingUpgradeBatchStarted',
        action: 'Select',
        note: `replacing ${selected.map((s) => `${s.instanceId} (${s.driftReason})`).join(', ')}`.slice(
          0,
          1000,
        ),
      }),
    ]);
  };
  let announced: Promise<void> | undefined;
  if (mode === 'eager') await announceBatch();

  // Eager: to Standby, so the ASG launches the replacements while the old nodes still serve.
  const standby = mode === 'eager' ? [...of('enterStandby'), ...selected] : [];
  if (standby.length > 0) {
    const ids = standby.map((s) => s.instanceId);
    const fresh = await observeAsg(view, asgName, { fresh: true });
    const inService = new Set(
      fresh?.instances.filter((i) => i.lifecycleState === 'InService').map((i) => i.instanceId),
    );
    const toStandby = ids.filter((id) => inService.has(id));
    if (toStandby.length > 0) await asgs.enterStandby(asgName, toStandby, false);
    for (const id of ids) setPhase(id, 'Standby');
    await save();
  }

  // Hooks: each call moves an instance's hook Jobs on without waiting; false while one runs or failed.
  const beforeDrain = hooksAt(ru.spec, 'beforeDrain');
  const afterDrain = hooksAt(ru.spec, 'afterDrain');
  const afterTerminate = hooksAt(ru.spec, 'afterTerminate');
  const hooksDone = async (id: string, hooks: HookDefinition[]): Promise<boolean> => {
    if (hooks.length === 0) return true;
    const record = records.get(id)!;
    const hookRecords = structuredClone(record.hooks ?? []);
    const target = {
      asgName,
      instanceId: id,
      nodeName: nodeIndex().get(id)?.name ?? record.nodeName,
    };
    const progress = await hookRunner.advance(ru, hooks, target, hookRecords, now());
    let message = record.message;
    if (progress.state === 'running')
      message = `waiting for hook ${progress.hook} (Job ${hookNamespace}/${progress.job})`;
    if (progress.state === 'failed')
      message = `hook ${progress.hook} failed (Job ${hookNamespace}/${progress.job}): ${progress.message}`;
    records.set(id, { ...record, hooks: hookRecords, ...(message ? { message } : {}) });
    status.instances = [...records.values()];
    const failures = [
      ...progress.ignored.map((f) => ({ ...f, note: 'ignored (ignoreFailure)' })),
      ...(progress.state === 'failed' && progress.firstTime
        ? [{ ...progress, note: 'the roll pauses' }]
        : []),
    ];
    for (const f of failures) {
      await ctx.recorder.event(ru, {
        type: 'Warning',
        reason: 'HookFailed',
        action: 'Hook',
        note: `hook ${f.hook} of ${id} failed (Job ${hookNamespace}/${f.job}): ${f.message}; ${f.note}`.slice(
          0,
          1000,
        ),
      });
    }
    return progress.state === 'done';
  };

  // Drain (lazy: the new batch at once; eager: once replacements are Ready), after the preDrain hook.
  const drainable = [...of('drain'), ...(mode === 'lazy' ? selected : [])];
  const terminations = of('terminate').map((s) => s.instanceId);
  if (drainable.length > 0) {
    for (const s of drainable) setPhase(s.instanceId, 'Draining', s.nodeName ? { nodeName: s.nodeName } : {});
    status.lastBatchNodes = drainable.map((s) => s.nodeName ?? s.instanceId);
    const drains: PlannedStep[] = [];
    for (const s of drainable) if (await hooksDone(s.instanceId, beforeDrain)) drains.push(s);
    await save();
    if (mode === 'lazy') {
      announced = announceBatch();
      announced.catch(() => {}); // awaited below; this only keeps an aborted pass from leaving it unhandled
    }
    const timeoutMs = drainTimeoutMs(ru.spec, config);
    const ignoreFailures = ru.spec.ignoreDrainFailures ?? config.ignoreDrainFailures;
    const outcomes = await Promise.all(
      drains.map(async (s) => {
        const nodeName = nodeIndex().get(s.instanceId)?.name ?? s.nodeName;
        if (!nodeName) return { s, ok: true, message: 'no node to drain' };
        try {
          ctx.log.debug({ node: nodeName, instance: s.instanceId }, 'draining');
          // The first refused eviction of this drain is an event, so `kubectl describe` says why a
          // roll sits in Draining (a PDB) while the drain retries, not only once it gives up.
          let blockedReported = false;
          const result = await drainNode(ctx.client, nodeName, {
            timeoutMs,
            signal: ctx.signal,
            onEviction: (pod, outcome, detail) => {
              ctx.log.debug({ node: nodeName, pod, outcome, detail }, 'eviction');
              if (outcome !== 'blocked' || blockedReported) return;
              blockedReported = true;
              void ctx.recorder.event(ru, {
                type: 'Warning',
                reason: 'DrainBlocked',
                action: 'Drain',
                note: `draining ${nodeName} (${s.instanceId}): eviction of ${pod} refused (${detail ?? 'no reason given'}); retrying${timeoutMs === undefined ? '' : ` until the drain timeout (${timeoutMs / 1000}s)`}`.slice(
                  0,
                  1000,
                ),
              });
            },
          });
          ctx.log.debug(
            {
              node: nodeName,
              completed: result.completed,
              ms: result.durationMs,
              evicted: result.evicted.length,
            },
            'drained',
          );
          if (result.completed) return { s, ok: true, message: `drained ${result.evicted.length} pods` };
          const blocked = result.blocked.map((b) => `${b.pod}: ${b.reason}`).join('; ');
          return { s, ok: false, message: `drain did not complete: ${blocked}`.slice(0, 1000) };
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          return { s, ok: false, message: `drain failed: ${errorMessage(err)}` };
        }
      }),
    );
    if (outcomes.length > 0) status.lastDrainTime = iso(now());
    const failed = outcomes.filter((o) => !o.ok && !ignoreFailures);
    for (const o of outcomes) {
      if (o.ok || ignoreFailures) {
        setPhase(o.s.instanceId, 'Terminating', { message: o.message });
        terminations.push(o.s.instanceId);
      } else {
        setPhase(o.s.instanceId, 'Failed', { message: o.message });
      }
    }
    // Saved before the terminate calls: a restart after a call whose record was lost must find the
    // instance Terminating (and check AWS), not Draining (its Node may already be gone).
    if (outcomes.length > 0) await save();
    if (failed.length > 0) {
      await announced; // `failed-drain` must be the tag that stays, after `in-progress`
      await tagInstances(
        aws,
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

  // Terminate (after the postDrain and postWait hooks), then the postTerminate hook. An instance
  // whose terminate call is recorded (terminationTime) or that AWS already removed is not called again.
  // The terminate calls go one after the other (one group's replacements are launched per call), then
  // one save records them all and their events go together. A call whose record a restart lost is
  // recognised by the next pass: the instance is already Terminating or gone.
  terminations.push(...postTerminateOnly);
  const terminated: string[] = [];
  let dirty = false;
  for (const id of terminations) {
    if (!records.get(id)?.terminationTime) {
      if (!(await hooksDone(id, afterDrain))) {
        dirty = true;
        continue;
      }
      try {
        await asgs.terminateInstance(id, false);
      } catch (err) {
        // Already gone (or terminating) is what we wanted; anything else is retried by the next pass.
        const fresh = await observeAsg(view, asgName, { fresh: true });
        const still = fresh?.instances.find((i) => i.instanceId === id);
        if (still && !still.lifecycleState.startsWith('Terminat')) {
          if (terminated.length > 0) await save();
          throw err;
        }
      }
      const at = iso(now());
      setPhase(id, 'Terminating', { terminationTime: at });
      status.lastTerminationTime = at;
      metrics.nodesRotated.inc({ asg: asgName });
      terminated.push(id);
    }
    if (await hooksDone(id, afterTerminate)) setPhase(id, 'Terminated');
    dirty = true;
  }
  if (dirty) await save();
  // The upstream tag (CreateTags) is not on the way from drained to terminated: it finishes here.
  await announced;
  await Promise.all(
    terminated.map((id) =>
      ctx.recorder.event(ru, {
        type: 'Normal',
        reason: 'RollingUpgradeInstanceFinished',
        action: 'Terminate',
        note: `terminated ${id}${records.get(id)?.nodeName ? ` (node ${records.get(id)?.nodeName})` : ''}`,
      }),
    ),
  );
}

/**
 * Tags instances with the upstream state tag. The tag is informational (upstream compatibility;
 * status holds the progress) and never read back, so a failure is ignored and no cached read is
 * invalidated. Instances tagged with the same value at the same moment, by any roll, share one
 * CreateTags call (ten rolls start their batches together).
 */
async function tagInstances(aws: AwsClients, ids: string[], value: string): Promise<void> {
  if (ids.length === 0) return;
  const batcher = aws.batcher<true>(
    `upgrade-manager:state-tag:${value}`,
    async (resources) => {
      await aws.ec2.send(
        new CreateTagsCommand({ Resources: resources, Tags: [{ Key: STATE_TAG, Value: value }] }),
      );
      return new Map(resources.map((id) => [id, true as const]));
    },
    { maxKeys: CREATE_TAGS_MAX_RESOURCES },
  );
  await Promise.all(ids.map((id) => batcher.load(id))).catch(() => {});
}

/** CreateTags takes up to 1,000 resource ids. */
const CREATE_TAGS_MAX_RESOURCES = 1000;
