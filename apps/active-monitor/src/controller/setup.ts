/**
 * Wires the HealthCheck controller into a Manager: the HealthCheck cache, the label-filtered Workflow
 * cache (only Workflows this controller started), and the reconciler. Used by main.ts and the tests.
 */
import { type Manager, predicates } from '@keiko/operator-kit';
import type { Registry } from 'prom-client';
import { type HealthCheck, healthCheckResource } from '../api/healthcheck.js';
import { HealthCheckMetrics } from '../metrics/metrics.js';
import { type Clock, systemClock } from '../schedule/clock.js';
import {
  DEFAULT_INSTANCE_ID,
  HEALTHCHECK_UID_LABEL,
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
  const reconciler = new HealthCheckReconciler({
    clock: options.clock ?? systemClock,
    metrics,
    sources: new SourceFetcher(options.sources),
    workflows: workflows.store,
    instanceId: options.instanceId ?? DEFAULT_INSTANCE_ID,
    retryAfterMs: options.retryAfterMs,
  });
  const controller = manager.controller<HealthCheck>(healthCheckResource, {
    name: 'healthcheck',
    reconcile: reconciler.reconcile,
    workers: options.workers ?? 10,
    // Our own status writes must not re-trigger a reconcile; spec edits and deletion do.
    predicates: [predicates.any(predicates.generationChanged, predicates.deletionOrFinalizersChanged)],
    informer: options.namespace ? { namespace: options.namespace } : undefined,
  });
  // Phase changes of our Workflows finish runs without polling.
  // The Workflow cache spans all namespaces (remedies run elsewhere): only keys of HealthChecks this
  // controller watches are enqueued.
  controller.watches(
    workflows,
    (wf) => healthCheckKeysOf(wf).filter((key) => controller.primary.store.get(key) !== undefined),
    [(o, n) => o.status?.phase !== n.status?.phase],
  );
  return { controller, metrics, reconciler };
}
