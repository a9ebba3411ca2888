/**
 * kube-forensics' own metrics, defined once and pre-initialised: requests ended by result and reason,
 * capture duration (Job created -> request ended) and bytes the workers uploaded.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export class ForensicsMetrics {
  readonly checkpoints: Counter<'result' | 'reason'>;
  readonly captureDuration: Histogram<'result'>;
  readonly uploadedBytes: Counter;

  private constructor(registry: Registry) {
    this.checkpoints = new Counter({
      name: 'kube_forensics_checkpoints_total',
      help: 'PodCheckpoints that ended, by result (succeeded, failed) and reason.',
      labelNames: ['result', 'reason'],
      registers: [registry],
    });
    this.captureDuration = new Histogram({
      name: 'kube_forensics_capture_duration_seconds',
      help: 'Seconds from the capture Job creation to the end of the request.',
      labelNames: ['result'],
      buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 3600],
      registers: [registry],
    });
    this.uploadedBytes = new Counter({
      name: 'kube_forensics_uploaded_bytes_total',
      help: 'Bytes the capture workers uploaded to S3, as they reported.',
      registers: [registry],
    });
    this.checkpoints.inc({ result: 'succeeded', reason: 'Captured' }, 0);
    for (const result of ['succeeded', 'failed']) this.captureDuration.zero({ result });
  }

  private static readonly byRegistry = new WeakMap<Registry, ForensicsMetrics>();
  static for(registry: Registry): ForensicsMetrics {
    let m = ForensicsMetrics.byRegistry.get(registry);
    if (!m) {
      m = new ForensicsMetrics(registry);
      ForensicsMetrics.byRegistry.set(registry, m);
    }
    return m;
  }
}
