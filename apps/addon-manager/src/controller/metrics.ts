/**
 * Addon metrics, defined once per registry: workflows created per step, and Addons per phase
 * (computed at scrape time from the informer cache, so it is never stale and costs nothing between
 * scrapes). controller-runtime's reconcile and queue metrics come from operator-kit.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Addon } from '../api/addon.js';

export class AddonMetrics {
  readonly workflowsCreated: Counter<'step'>;
  private static readonly byRegistry = new WeakMap<Registry, AddonMetrics>();

  private constructor(registry: Registry, addons: () => Addon[]) {
    this.workflowsCreated = new Counter({
      name: 'addonmgr_workflows_created_total',
      help: 'Argo Workflows created by the Addon controller, per lifecycle step',
      labelNames: ['step'],
      registers: [registry],
    });
    for (const step of ['prereqs', 'install', 'delete']) this.workflowsCreated.inc({ step }, 0);
    new Gauge({
      name: 'addonmgr_addons',
      help: 'Addons by status.lifecycle.installed phase',
      labelNames: ['phase'],
      registers: [registry],
      collect() {
        this.reset();
        for (const phase of [
          'Pending',
          'Succeeded',
          'Failed',
          'Validation Failed',
          'Deleting',
          'Delete Failed',
        ]) {
          this.set({ phase }, 0);
        }
        const counts = new Map<string, number>();
        for (const a of addons()) {
          const phase = a.status?.lifecycle?.installed ?? 'Pending';
          counts.set(phase, (counts.get(phase) ?? 0) + 1);
        }
        for (const [phase, n] of counts) this.set({ phase }, n);
      },
    });
  }

  static for(registry: Registry, addons: () => Addon[]): AddonMetrics {
    let m = AddonMetrics.byRegistry.get(registry);
    if (!m) {
      m = new AddonMetrics(registry, addons);
      AddonMetrics.byRegistry.set(registry, m);
    }
    return m;
  }
}
