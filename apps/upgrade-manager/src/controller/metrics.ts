/** upgrade-manager's own metrics, defined once, labelled, pre-initialised (AWS calls come from aws-kit). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const STEPS = ['standby', 'drain', 'terminate', 'replacement_ready'] as const;

export class UpgradeMetrics {
  /** Instances terminated and replaced. */
  readonly nodesRotated: Counter<'asg'>;
  /** Seconds per step of one instance. */
  readonly stepDuration: Histogram<'step'>;
  /** RollingUpgrades by currentStatus. */
  readonly rolls: Gauge<'status'>;
  private static readonly byRegistry = new WeakMap<Registry, UpgradeMetrics>();

  static for(registry: Registry): UpgradeMetrics {
    let m = UpgradeMetrics.byRegistry.get(registry);
    if (!m) {
      m = new UpgradeMetrics(registry);
      UpgradeMetrics.byRegistry.set(registry, m);
    }
    return m;
  }

  private constructor(registry: Registry) {
    const registers = [registry];
    this.nodesRotated = new Counter({
      name: 'upgrade_manager_nodes_rotated_total',
      help: 'Instances terminated and replaced by rolling upgrades.',
      labelNames: ['asg'],
      registers,
    });
    this.stepDuration = new Histogram({
      name: 'upgrade_manager_step_duration_seconds',
      help: 'Duration of each step of an instance replacement.',
      labelNames: ['step'],
      buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 900, 1800],
      registers,
    });
    this.rolls = new Gauge({
      name: 'upgrade_manager_rolling_upgrades',
      help: 'RollingUpgrades by currentStatus.',
      labelNames: ['status'],
      registers,
    });
    for (const step of STEPS) this.stepDuration.zero({ step });
  }
}
