/**
 * Wires the cycle into operator-kit's Manager. minion-manager has no CRD: its one "primary object" is
 * its status ConfigMap, so the Manager's controller gives it leader-gated workers, reconcile metrics,
 * error back-off and graceful shutdown for free. Status writes do not retrigger it (updates are
 * filtered out); the cycle requeues itself every refresh interval, sooner while replacements run.
 */
import { CoreResources, type KubeObject, type Manager } from '@keiko/operator-kit';
import type { Config } from '../config.js';
import { type CycleDeps, MinionCycle, type NodeLike } from './cycle.js';
import { ensureStatusConfigMap } from './status.js';

export async function registerMinionManager(manager: Manager, config: Config, deps: CycleDeps) {
  await ensureStatusConfigMap(manager.client, config.namespace, config.statusConfigMap);
  // Nodes come from the shared watch cache (no list per cycle); the controller waits for its sync.
  const nodes = manager.informer<NodeLike>(CoreResources.nodes);
  deps = { ...deps, nodes: () => nodes.store.list() };
  const cycle = new MinionCycle(
    {
      clusterName: config.clusterName,
      eventsOnly: config.eventsOnly,
      defaults: config.defaults,
      backoff: config.backoff,
      drainTimeoutMs: config.drainTimeoutMs,
      evictionRetryMs: config.evictionRetryMs,
      eventNamespace: config.eventNamespace,
      recommendationRefreshMs: config.recommendationRefreshMs,
      statusNamespace: config.namespace,
      statusName: config.statusConfigMap,
      concurrency: config.concurrency,
    },
    deps,
  );
  const controller = manager.controller<KubeObject>(CoreResources.configMaps, {
    name: 'minion-manager',
    informer: { namespace: config.namespace, fieldSelector: `metadata.name=${config.statusConfigMap}` },
    predicates: [() => false],
    reconcile: async (_req, ctx) => {
      const statuses = await cycle.run(ctx);
      const replacing = [...statuses.values()].some((s) => (s.replacing?.length ?? 0) > 0);
      return {
        requeueAfter: replacing
          ? Math.min(config.replacementPollMs, config.refreshIntervalMs)
          : config.refreshIntervalMs,
      };
    },
  });
  controller.watches(nodes, () => []);
  // Also enqueued by the ConfigMap's informer; the queue dedupes.
  controller.queue.add(`${config.namespace}/${config.statusConfigMap}`);
  return { cycle, controller };
}
