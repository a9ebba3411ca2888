/**
 * Run metrics with bounded labels (reaper, reason, outcome): never a series per node, pod or instance
 * (upstream's Pushgateway groups keyed by node grew without bound). Written as a textfile for the
 * node-exporter collector and/or pushed to a Pushgateway at the end of the run.
 */
import { writeFileSync } from 'node:fs';
import { Counter, Gauge, Registry } from 'prom-client';

export type Outcome = 'planned' | 'done' | 'failed' | 'skipped';

export class RunMetrics {
  readonly registry = new Registry();
  readonly actions: Counter<'reaper' | 'reason' | 'outcome'>;
  readonly duration: Gauge<'reaper'>;
  readonly lastSuccess: Gauge<'reaper'>;

  constructor(readonly reaper: string) {
    const registers = [this.registry];
    this.actions = new Counter({
      name: 'governor_reaper_actions_total',
      help: 'Reaper decisions by reaper, reason and outcome (planned in dry-run, done, failed, skipped).',
      labelNames: ['reaper', 'reason', 'outcome'],
      registers,
    });
    this.duration = new Gauge({
      name: 'governor_reaper_run_duration_seconds',
      help: 'Duration of the last run.',
      labelNames: ['reaper'],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 'governor_reaper_last_run_timestamp_seconds',
      help: 'End time of the last run that completed (even if some actions failed).',
      labelNames: ['reaper'],
      registers,
    });
  }

  count(reason: string, outcome: Outcome): void {
    this.actions.inc({ reaper: this.reaper, reason, outcome });
  }

  async export(options: { textfile?: string; pushgatewayUrl?: string }): Promise<void> {
    const text = await this.registry.metrics();
    if (options.textfile) writeFileSync(options.textfile, text);
    if (options.pushgatewayUrl) {
      const url = `${options.pushgatewayUrl.replace(/\/$/, '')}/metrics/job/governor/reaper/${this.reaper}`;
      const res = await fetch(url, { method: 'PUT', body: text, headers: { 'content-type': 'text/plain' } });
      if (!res.ok) throw new Error(`pushgateway ${url}: ${res.status}`);
    }
  }
}
