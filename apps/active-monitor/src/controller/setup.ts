/**
 * Wires the HealthCheck controller into a Manager: the HealthCheck cache, the label-filtered Workflow
 * cache (only Workflows this controller started), the reconciler and its due-time timers. Used by
 * main.ts and the tests; call `stop()` before the Manager's stop (it waits for timer passes).
 */
import { randomUUID } from 'node:crypto';
import { type Controller, type Manager, predicates } from '@keiko/operator-kit';
import type { Registry } from 'prom-client';
import { type HealthCheck, healthCheckResource } from '../api/healthcheck.js';
import { HealthCheckMetrics } from '../metrics/metrics.js';
import { type Clock, systemClock } from '../schedule/clock.js';
import {
  DEFAULT_INSTANCE_ID,
  HEALTHCHECK_UID_LABEL,
  isFinished,
  type Workflow,
  workflowResource,
} from '../workflow/build.js';
import { SourceFetcher, type SourceFetcherOptions } from '../workflow/source.js';
import { HealthCheckReconciler, healthCheckKeysOf } from './healthcheck.js';

export interface HealthCheckControllerOptions {
  registry: Registry;
  clock?: Clock;
  /** Concurrent reconciles (upstream `--max-workers`); default 10. */
  workers?: number;
  /** Concurrent passes started by due times (runs, deadlines), apart from `workers`; default 50. */
  scheduleWorkers?: number;
  /** Argo instance id added to Workflows whose template has none; default `activemonitor-workflows`. */
  instanceId?: string;
  /** Watch HealthChecks in one namespace only; default all. */
  namespace?: string;
  sources?: SourceFetcherOptions;
  retryAfterMs?: number;
}

const metricsByRegistry = new WeakMap<Registry, HealthCheckMetrics>();

export function healthCheckController(manager: Manager, options: HealthCheckControllerOptions) {
  let metrics = metricsByRegistry.get(options.registry);
  if (!metrics) {
    metrics = new HealthCheckMetrics(options.registry);
    metricsByRegistry.set(options.registry, metrics);
  }
  const workflows = manager.informer<Workflow>(workflowResource, { labelSelector: HEALTHCHECK_UID_LABEL });
  const fieldManager = manager.client.withFieldManager('active-monitor');
  const log = manager.log.child({ controller: 'healthcheck', via: 'schedule' });
  let controller: Controller<HealthCheck> | undefined;
  const reconciler = new HealthCheckReconciler({
    clock: options.clock ?? systemClock,
    metrics,
    sources: new SourceFetcher(options.sources),
    workflows: workflows.store,
    cached: (key) => controller?.primary.store.get(key),
    instanceId: options.instanceId ?? DEFAULT_INSTANCE_ID,
    retryAfterMs: options.retryAfterMs,
    scheduleWorkers: options.scheduleWorkers,
    // Timer passes run only while the controller's workers do (leader, not stopping).
    dueContext: (key) => {
      if (!controller || controller.queue.isShuttingDown) return undefined;
      const [namespace, name] = key.split('/');
      const reconcileID = randomUUID();
      return {
        client: fieldManager,
        log: log.child({ namespace, name, reconcileID }),
        reconcileID,
        recorder: manager.recorder,
        signal: AbortSignal.timeout(60_000),
      };
    },
    onDueError: (key, err) => {
      log.warn({ key, err: (err as Error)?.message ?? String(err) }, 'scheduled pass failed; retrying');
      controller?.queue.addRateLimited(key);
    },
  });
  controller = manager.controller<HealthCheck>(healthCheckResource, {
    name: 'healthcheck',
    reconcile: reconciler.reconcile,
    workers: options.workers ?? 10,
    // Our own status writes must not re-trigger a reconcile; spec edits and deletion do.
    predicates: [predicates.any(predicates.generationChanged, predicates.deletionOrFinalizersChanged)],
    informer: options.namespace ? { namespace: options.namespace } : undefined,
  });
  const timers = reconciler.timers;
  metrics.observeTimers(() => ({ pending: timers.size, waiting: timers.waiting, running: timers.running }));
  const primary = controller.primary.store;
  // Registered as a trigger so the workers wait for the Workflow cache; enqueues through the handler
  // below. A pass is needed when a Workflow finished, or was deleted: a create is our own. A Workflow
  // deleted in a finished phase (Argo's ttlStrategy) may not have been counted yet, so its last state
  // is kept for the pass. The Workflow cache spans all namespaces (remedies run elsewhere): only keys
  // of HealthChecks we watch are enqueued.
  controller.watches(workflows, () => []);
  const enqueue = (wf: Workflow) => {
    for (const key of healthCheckKeysOf(wf)) if (primary.get(key)) controller.queue.add(key);
  };
  workflows.addHandler({
    add: (wf) => {
      if (isFinished(wf)) enqueue(wf);
    },
    update: (old, wf) => {
      if (isFinished(wf) && !isFinished(old)) enqueue(wf);
    },
    delete: (wf) => {
      if (isFinished(wf)) reconciler.rememberDeletedFinished(wf);
      enqueue(wf);
    },
  });
  return { controller, metrics, reconciler, stop: () => reconciler.timers.stop() };
}
