/** minion-manager's own metrics, defined once on the Manager's registry (next to controller-runtime's and aws-kit's). */
import { Counter, Gauge, type Registry } from 'prom-client';

export class MinionMetrics {
  readonly spotPrice: Gauge<'instance_type' | 'availability_zone'>;
  readonly onDemandPrice: Gauge<'instance_type'>;
  readonly decision: Gauge<'asg' | 'market'>;
  readonly spotRatio: Gauge<'asg'>;
  readonly savings: Gauge<'asg'>;
  readonly replacements: Counter<'asg' | 'result'>;
  readonly drainFailures: Counter<'asg'>;
  readonly switches: Counter<'asg' | 'market'>;
  readonly cycles: Counter<'result'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.spotPrice = new Gauge({
      name: 'minion_manager_spot_price_dollars',
      help: 'Latest spot price per hour of a pool the managed groups use.',
      labelNames: ['instance_type', 'availability_zone'],
      registers,
    });
    this.onDemandPrice = new Gauge({
      name: 'minion_manager_on_demand_price_dollars',
      help: 'On-demand price per hour of an instance type the managed groups use.',
      labelNames: ['instance_type'],
      registers,
    });
    this.decision = new Gauge({
      name: 'minion_manager_decision',
      help: '1 for the market each managed group is steered to (spot or on-demand), 0 for the other.',
      labelNames: ['asg', 'market'],
      registers,
    });
    this.spotRatio = new Gauge({
      name: 'minion_manager_spot_price_ratio',
      help: 'Best spot/on-demand price ratio of the group (unknown spot prices count as on-demand).',
      labelNames: ['asg'],
      registers,
    });
    this.savings = new Gauge({
      name: 'minion_manager_estimated_hourly_savings_dollars',
      help: 'Estimated savings per hour: spot instances of the group x (on-demand - spot price).',
      labelNames: ['asg'],
      registers,
    });
    this.replacements = new Counter({
      name: 'minion_manager_replacements_total',
      help: 'Instances replaced to match the decision, by result (terminated, drain_failed, error).',
      labelNames: ['asg', 'result'],
      registers,
    });
    this.drainFailures = new Counter({
      name: 'minion_manager_drain_failures_total',
      help: 'Drains that did not complete in time (the instance was uncordoned and kept).',
      labelNames: ['asg'],
      registers,
    });
    this.switches = new Counter({
      name: 'minion_manager_market_switches_total',
      help: 'Market changes decided, by the market switched to.',
      labelNames: ['asg', 'market'],
      registers,
    });
    this.cycles = new Counter({
      name: 'minion_manager_cycles_total',
      help: 'Reconcile cycles over every managed group, by result.',
      labelNames: ['result'],
      registers,
    });
    this.cycles.inc({ result: 'success' }, 0);
    this.cycles.inc({ result: 'error' }, 0);
  }
}
