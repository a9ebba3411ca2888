/**
 * HealthCheck metrics. Upstream's names are kept (`healthcheck_success_count`, `healthcheck_error_count`,
 * `healthcheck_runtime_seconds`, `healthcheck_starttime`, `healthcheck_finishedtime`) with a
 * `namespace` label added, so same-named checks in two namespaces no longer collide; `workflow` is
 * `healthCheck` or `remedy` as upstream. New: a duration histogram, a last-result gauge, missed slots
 * and schedule drift. Every per-HealthCheck series is removed when the HealthCheck goes.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RunType } from '../workflow/build.js';

type Labels = 'namespace' | 'healthcheck_name' | 'workflow';
const WORKFLOW_LABEL: Record<RunType, string> = { check: 'healthCheck', remedy: 'remedy' };

export class HealthCheckMetrics {
  readonly success: Counter<Labels>;
  readonly error: Counter<Labels>;
  readonly runtime: Gauge<Labels>;
  readonly duration: Histogram<Labels>;
  readonly lastResult: Gauge<Labels>;
  readonly startTime: Gauge<Labels>;
  readonly finishedTime: Gauge<Labels>;
  readonly missed: Counter<'namespace' | 'healthcheck_name'>;
  readonly drift: Histogram;
  /** Due-time timers: HealthChecks `pending` (a time set), `waiting` (due, no free worker), `running`. */
  readonly timers: Gauge<'state'>;
  private timerSource: (() => { pending: number; waiting: number; running: number }) | undefined;
  private readonly perCheck: (Counter<Labels> | Gauge<Labels> | Histogram<Labels>)[];

  /** Where {@link timers} reads its values when scraped. */
  observeTimers(source: () => { pending: number; waiting: number; running: number }): void {
    this.timerSource = source;
  }

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames: Labels[] = ['namespace', 'healthcheck_name', 'workflow'];
    this.success = new Counter({
      name: 'healthcheck_success_count',
      help: 'Successful workflow runs',
      labelNames,
      registers,
    });
    this.error = new Counter({
      name: 'healthcheck_error_count',
      help: 'Failed or timed-out workflow runs',
      labelNames,
      registers,
    });
    this.runtime = new Gauge({
      name: 'healthcheck_runtime_seconds',
      help: 'Duration of the last successful run',
      labelNames,
      registers,
    });
    this.duration = new Histogram({
      name: 'healthcheck_duration_seconds',
      help: 'Duration of finished runs',
      labelNames,
      buckets: [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    this.lastResult = new Gauge({
      name: 'healthcheck_last_result',
      help: '1 if the last run succeeded, 0 if it failed',
      labelNames,
      registers,
    });
    this.startTime = new Gauge({
      name: 'healthcheck_starttime',
      help: 'Unix time the last run started',
      labelNames,
      registers,
    });
    this.finishedTime = new Gauge({
      name: 'healthcheck_finishedtime',
      help: 'Unix time the last run finished',
      labelNames,
      registers,
    });
    this.missed = new Counter({
      name: 'healthcheck_missed_schedules_total',
      help: 'Schedule slots skipped because an earlier slot was still due (missed-run rule)',
      labelNames: ['namespace', 'healthcheck_name'],
      registers,
    });
    this.drift = new Histogram({
      name: 'healthcheck_schedule_drift_seconds',
      help: 'Delay from a schedule slot (due time) to its Workflow created in the API server (create returned)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60],
      registers,
    });
    const self = this;
    this.timers = new Gauge({
      name: 'healthcheck_schedule_timers',
      help: 'HealthChecks in the due-time timers by state: pending (next time set), waiting (due, no free schedule worker), running',
      labelNames: ['state'],
      registers,
      collect() {
        const t = self.timerSource?.();
        if (!t) return;
        this.set({ state: 'pending' }, t.pending);
        this.set({ state: 'waiting' }, t.waiting);
        this.set({ state: 'running' }, t.running);
      },
    });
    this.perCheck = [
      this.success,
      this.error,
      this.runtime,
      this.duration,
      this.lastResult,
      this.startTime,
      this.finishedTime,
    ];
  }

  labels(namespace: string, name: string, type: RunType) {
    return { namespace, healthcheck_name: name, workflow: WORKFLOW_LABEL[type] };
  }

  started(namespace: string, name: string, type: RunType, at: Date): void {
    this.startTime.set(this.labels(namespace, name, type), at.getTime() / 1000);
  }

  finished(namespace: string, name: string, type: RunType, ok: boolean, seconds: number, at: Date): void {
    const l = this.labels(namespace, name, type);
    (ok ? this.success : this.error).inc(l);
    if (ok) this.runtime.set(l, seconds);
    this.duration.observe(l, seconds);
    this.lastResult.set(l, ok ? 1 : 0);
    this.finishedTime.set(l, at.getTime() / 1000);
  }

  /** Drops every series of one HealthCheck. */
  remove(namespace: string, name: string): void {
    for (const type of ['check', 'remedy'] as const) {
      const l = this.labels(namespace, name, type);
      for (const m of this.perCheck) m.remove(l);
    }
    this.missed.remove({ namespace, healthcheck_name: name });
  }
}
