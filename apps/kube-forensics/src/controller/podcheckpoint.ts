/**
 * The PodCheckpoint reconciler: observe (the request, its capture Job from the Job cache, the target
 * pod read live), decide (src/checkpoint: destination, containers, Job, progress), act (create the Job,
 * write status, record events on phase transitions).
 *
 * Everything that must survive a restart is in the API: the Job name is derived from the request's
 * UID and the capture directory from its creation time, so a new controller process finds the same Job
 * and the same S3 directory; the worker's progress is in `status.worker`; the phase is in status.
 * A terminal phase (Succeeded, Failed) is final: later reconciles do nothing but cleanup on deletion.
 */
import { cordon } from '@keiko/node-kit';
import {
  type ConditionInput,
  CoreResources,
  isAlreadyExists,
  type KubeObject,
  type Manager,
  type ReconcileContext,
  withFinalizer,
} from '@keiko/operator-kit';
import type { Registry } from 'prom-client';
import { type Phase, type PodCheckpoint, PodCheckpoints, TERMINAL_PHASES } from '../api/podcheckpoint.js';
import { type PodLike, selectContainers } from '../checkpoint/containers.js';
import { bucketAllowed, captureLocation, s3Uri } from '../checkpoint/destination.js';
import {
  buildCaptureJob,
  captureJobName,
  type JobObject,
  LABELS,
  requesterOf,
  WORKER_CONTAINER,
} from '../checkpoint/job.js';
import { captureProgress, isJobFinished, type Progress, type WorkerExit } from '../checkpoint/progress.js';
import { type ControllerFields, nextStatus, now } from '../checkpoint/status.js';
import type { Config } from '../config.js';
import { ForensicsMetrics } from './metrics.js';
import { Jobs } from './resources.js';

/** Removes the capture Job when a request in another namespace than the Jobs' is deleted. */
export const CLEANUP_FINALIZER = 'forensics.keikoproj.io/job-cleanup';
/** Put on the target pod by spec.isolate.label, for a quarantine NetworkPolicy to select. */
export const QUARANTINE_LABEL = 'forensics.keikoproj.io/quarantine';

export interface PodCheckpointControllerOptions {
  config: Config;
  registry: Registry;
}

export function podCheckpointController(
  manager: Manager,
  { config, registry }: PodCheckpointControllerOptions,
) {
  const metrics = ForensicsMetrics.for(registry);
  const jobs = manager.informer<JobObject>(Jobs, {
    namespace: config.workerNamespace,
    labelSelector: `${LABELS.managedBy}=kube-forensics`,
  });
  const controller = manager.controller<PodCheckpoint>(PodCheckpoints, {
    name: 'podcheckpoint',
    informer: config.namespace ? { namespace: config.namespace } : {},
    reconcile: async ({ object }, ctx) => {
      if (!object) return;
      const crossNamespace = object.metadata.namespace !== config.workerNamespace;
      if (!crossNamespace) {
        if (object.metadata.deletionTimestamp) return; // the garbage collector removes the owned Job
        return reconcileCheckpoint(object, ctx);
      }
      return withFinalizer(ctx.client, PodCheckpoints, object, CLEANUP_FINALIZER, {
        apply: (live) => reconcileCheckpoint(live, ctx),
        cleanup: async (cp) => {
          await ctx.client.delete(Jobs, captureJobName(cp), config.workerNamespace, {
            propagationPolicy: 'Background',
          });
        },
      });
    },
  });
  // Job changes reach their request by labels: this works across namespaces, where an owner
  // reference cannot (upstream did not watch Jobs at all, so its status went stale).
  controller.watches(jobs, (job) => {
    const ns = job.metadata.labels?.[LABELS.checkpointNamespace];
    const uid = job.metadata.labels?.[LABELS.checkpointUid];
    if (!ns || !uid) return [];
    const owner = controller.primary.store
      .list()
      .find((c) => c.metadata.uid === uid && c.metadata.namespace === ns);
    return owner ? [`${ns}/${owner.metadata.name}`] : [];
  });

  async function reconcileCheckpoint(request: PodCheckpoint, ctx: ReconcileContext) {
    let cp = request;
    const phase = cp.status?.phase;
    if (phase && TERMINAL_PHASES.includes(phase)) return;
    const targetNamespace = cp.spec.namespace || cp.metadata.namespace!;
    const location = captureLocation(cp.spec, targetNamespace, cp.metadata.creationTimestamp ?? new Date());
    if (!location) {
      return fail(
        cp,
        ctx,
        'InvalidDestination',
        `destination ${cp.spec.destination} is not s3://bucket[/prefix]`,
      );
    }
    if (!bucketAllowed(location.bucket, config.allowedBuckets)) {
      return fail(
        cp,
        ctx,
        'DestinationNotAllowed',
        `bucket ${location.bucket} is not in the allowed buckets (${config.allowedBuckets.join(', ')})`,
      );
    }
    const jobName = captureJobName(cp);
    let job = jobs.store.getByName(jobName, config.workerNamespace);
    if (!job && cp.status?.jobName) {
      // A Job was created for this request. The cache may lag behind our own create; if the API
      // server has no Job either, it was deleted (by hand, or by its TTL while no controller ran):
      // never capture twice; end the request on what the worker reported.
      job = await ctx.client.getOrUndefined<JobObject>(Jobs, jobName, config.workerNamespace);
      if (!job) {
        const live = await ctx.client.get<PodCheckpoint>(
          PodCheckpoints,
          cp.metadata.name!,
          cp.metadata.namespace,
        );
        if (live.status?.worker?.stage === 'Succeeded') {
          return writeStatus(live, ctx, {
            phase: 'Succeeded',
            reason: 'Captured',
            message: live.status.worker.message ?? 'capture uploaded',
          });
        }
        return fail(
          live,
          ctx,
          'JobDeleted',
          `capture Job ${config.workerNamespace}/${jobName} was deleted before the worker reported success`,
        );
      }
    }
    if (!job) {
      const pod = await ctx.client.getOrUndefined<KubeObject & PodLike>(
        CoreResources.pods,
        cp.spec.pod,
        targetNamespace,
      );
      if (!pod || pod.metadata.deletionTimestamp) {
        return fail(
          cp,
          ctx,
          'PodNotFound',
          `pod ${targetNamespace}/${cp.spec.pod} ${pod ? 'is being deleted' : 'was not found'}`,
        );
      }
      const selection = selectContainers(pod, cp.spec.containers);
      if (selection.kind === 'fail') return fail(cp, ctx, selection.reason, selection.message);
      if (selection.kind === 'wait') {
        await writeStatus(cp, ctx, {
          phase: 'Pending',
          reason: selection.reason,
          message: selection.message,
        });
        return { requeueAfter: config.podWaitSeconds * 1000 };
      }
      const isolated = await isolate(cp, pod, ctx);
      // The cache strips managedFields; the live object still names the managers that created it.
      const requester = requesterOf(
        await ctx.client.get<PodCheckpoint>(PodCheckpoints, cp.metadata.name!, cp.metadata.namespace),
      );
      const desired = buildCaptureJob({
        checkpoint: cp,
        pod,
        targets: selection.targets,
        location,
        config,
        requester,
      });
      try {
        job = await ctx.client.create<JobObject>(Jobs, desired);
        ctx.log.info(
          { job: jobName, node: pod.spec?.nodeName, containers: selection.targets.length },
          'capture job created',
        );
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        job = await ctx.client.get<JobObject>(Jobs, jobName, config.workerNamespace);
      }
      if (job.metadata.labels?.[LABELS.checkpointUid] !== cp.metadata.uid) {
        return fail(
          cp,
          ctx,
          'JobNameConflict',
          `Job ${config.workerNamespace}/${jobName} belongs to another request`,
        );
      }
      const skipped = selection.notStarted.length
        ? `; never started, not captured: ${selection.notStarted.join(', ')}`
        : '';
      return writeStatus(
        cp,
        ctx,
        {
          phase: 'Scheduled',
          reason: 'JobCreated',
          message: `capture Job ${jobName} on node ${pod.spec?.nodeName}${skipped}`,
        },
        {
          startTime: job.metadata.creationTimestamp ?? now(),
          nodeName: pod.spec?.nodeName,
          jobName,
          jobNamespace: config.workerNamespace,
          location: s3Uri(location),
        },
        job,
        isolated,
      );
    }
    let report = cp.status?.worker;
    let exit: WorkerExit | undefined;
    if (isJobFinished(job)) {
      // The worker writes its report before it exits, but the report and the Job reach this process
      // through different watches: read the request live before deciding the report is missing.
      cp = await ctx.client.get<PodCheckpoint>(PodCheckpoints, cp.metadata.name!, cp.metadata.namespace);
      report = cp.status?.worker;
      exit = await workerExit(ctx, jobName);
    }
    const progress = captureProgress(job, report, exit);
    // Isolation happens before the Job is created; if that status write was lost (a conflict), the
    // Isolated condition is missing: isolate again (idempotent) so it is reported.
    let isolated: ConditionInput | undefined;
    if (
      cp.spec.isolate &&
      !cp.status?.conditions?.some((c) => c.type === 'Isolated') &&
      !TERMINAL_PHASES.includes(progress.phase)
    ) {
      const pod = await ctx.client.getOrUndefined<KubeObject & PodLike>(
        CoreResources.pods,
        cp.spec.pod,
        targetNamespace,
      );
      isolated = pod
        ? await isolate(cp, pod, ctx)
        : { type: 'Isolated', status: 'False', reason: 'PodNotFound', message: 'the pod is gone' };
    }
    return writeStatus(cp, ctx, progress, {}, job, isolated);
  }

  async function workerExit(ctx: ReconcileContext, jobName: string): Promise<WorkerExit | undefined> {
    const pods = await ctx.client.list<
      KubeObject & {
        status?: {
          containerStatuses?: {
            name: string;
            state?: { terminated?: { exitCode: number; message?: string } };
          }[];
        };
      }
    >(CoreResources.pods, { namespace: config.workerNamespace, labelSelector: `job-name=${jobName}` });
    for (const pod of pods.items.sort((a, b) =>
      (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
    )) {
      const t = pod.status?.containerStatuses?.find((s) => s.name === WORKER_CONTAINER)?.state?.terminated;
      if (t) return { exitCode: t.exitCode, ...(t.message ? { message: t.message } : {}) };
    }
    return undefined;
  }

  /**
   * spec.isolate, before the capture: the quarantine label on the pod and/or a cordoned node. Both are
   * idempotent, so a restart between isolation and Job creation repeats them harmlessly.
   */
  async function isolate(
    cp: PodCheckpoint,
    pod: KubeObject & PodLike,
    ctx: ReconcileContext,
  ): Promise<ConditionInput | undefined> {
    const wanted = cp.spec.isolate;
    if (!wanted?.label && !wanted?.cordon) return undefined;
    if (!config.allowIsolation) {
      return {
        type: 'Isolated',
        status: 'False',
        reason: 'IsolationDisabled',
        message: 'the controller runs without --allow-isolation; captured without isolating',
      };
    }
    const done: string[] = [];
    if (wanted.label) {
      await ctx.client.patch(CoreResources.pods, pod.metadata.name!, pod.metadata.namespace, {
        metadata: { labels: { [QUARANTINE_LABEL]: 'true' } },
      });
      done.push(`pod labelled ${QUARANTINE_LABEL}=true`);
    }
    if (wanted.cordon && pod.spec?.nodeName) {
      await cordon(ctx.client, pod.spec.nodeName);
      done.push(`node ${pod.spec.nodeName} cordoned`);
    }
    ctx.log.info({ isolation: done }, 'isolated');
    return { type: 'Isolated', status: 'True', reason: 'Isolated', message: done.join('; ') };
  }

  function fail(cp: PodCheckpoint, ctx: ReconcileContext, reason: string, message: string) {
    return writeStatus(cp, ctx, { phase: 'Failed', reason, message });
  }

  async function writeStatus(
    cp: PodCheckpoint,
    ctx: ReconcileContext,
    progress: Progress,
    fields: Partial<ControllerFields> = {},
    job?: JobObject,
    extra?: ConditionInput,
  ): Promise<void> {
    const prev = cp.status ?? {};
    const { worker: _worker, ...owned } = prev;
    const terminal = TERMINAL_PHASES.includes(progress.phase);
    const next = nextStatus({ owned, progress, fields, job, extra, generation: cp.metadata.generation });
    if (JSON.stringify(next) === JSON.stringify(owned)) return;
    await ctx.client.applyStatus(PodCheckpoints, {
      apiVersion: cp.apiVersion,
      kind: cp.kind,
      // The resourceVersion makes a write computed from a stale cache fail with a conflict (and retry)
      // instead of dropping fields this manager set a moment ago.
      metadata: {
        name: cp.metadata.name,
        namespace: cp.metadata.namespace,
        resourceVersion: cp.metadata.resourceVersion,
      },
      status: next,
    } as PodCheckpoint);
    if (prev.phase !== progress.phase) {
      ctx.log.info({ from: prev.phase, to: progress.phase, reason: progress.reason }, 'phase changed');
      await ctx.recorder.event(cp, {
        type: progress.phase === 'Failed' ? 'Warning' : 'Normal',
        reason: progress.phase === 'Failed' ? progress.reason : progress.phase,
        action: 'Capture',
        note: progress.message.slice(0, 1000),
      });
      if (terminal) {
        const result = progress.phase === 'Succeeded' ? 'succeeded' : 'failed';
        metrics.checkpoints.inc({ result, reason: progress.reason });
        const started = next.startTime ? Date.parse(next.startTime) : undefined;
        const ended = next.completionTime ? Date.parse(next.completionTime) : Date.now();
        if (started) metrics.captureDuration.observe({ result }, Math.max(0, (ended - started) / 1000));
        const bytes = cp.status?.worker?.bytesUploaded;
        if (bytes) metrics.uploadedBytes.inc(bytes);
      }
    }
  }

  return controller;
}

export type { Phase };
