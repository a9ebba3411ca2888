/**
 * The AWS cost of a tool, on its `/metrics`: calls by service, operation and outcome, their latency,
 * throttled attempts, and the calls the cache saved. Defined once here; an app passes its own
 * prom-client Registry so the series land next to its controller metrics.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { AwsErrorClass } from './errors.js';

/** `result` label of `aws_api_calls_total`: `success` or the error class of the final failure. */
export type CallResult = 'success' | AwsErrorClass;

export class AwsMetrics {
  /** One per SDK command (retries included), labelled with its final outcome. */
  readonly calls: Counter<'service' | 'operation' | 'result'>;
  /** Seconds from send to final answer, retries and backoff included. */
  readonly latency: Histogram<'service' | 'operation'>;
  /** One per attempt that AWS answered with a throttling error (each is retried after a backoff). */
  readonly throttles: Counter<'service' | 'operation'>;
  /** One per attempt, retries included: the requests AWS actually received. */
  readonly attempts: Counter<'service' | 'operation'>;
  /** Reads answered from the cache or by joining an identical call in flight. */
  readonly cacheHits: Counter<'service' | 'operation'>;
  /** Reads that had to call AWS. */
  readonly cacheMisses: Counter<'service' | 'operation'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.calls = new Counter({
      name: 'aws_api_calls_total',
      help: 'AWS API calls by service, operation and result (success, or the class of the final error).',
      labelNames: ['service', 'operation', 'result'],
      registers,
    });
    this.latency = new Histogram({
      name: 'aws_api_call_duration_seconds',
      help: 'Duration of AWS API calls, retries and backoff included.',
      labelNames: ['service', 'operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.throttles = new Counter({
      name: 'aws_api_throttles_total',
      help: 'AWS API attempts rejected by throttling (each is retried after a backoff).',
      labelNames: ['service', 'operation'],
      registers,
    });
    this.attempts = new Counter({
      name: 'aws_api_attempts_total',
      help: 'AWS API requests sent, retries included.',
      labelNames: ['service', 'operation'],
      registers,
    });
    this.cacheHits = new Counter({
      name: 'aws_cache_hits_total',
      help: 'AWS reads served from the cache or by joining an identical call in flight.',
      labelNames: ['service', 'operation'],
      registers,
    });
    this.cacheMisses = new Counter({
      name: 'aws_cache_misses_total',
      help: 'AWS reads that had to call AWS.',
      labelNames: ['service', 'operation'],
      registers,
    });
  }

  /** Current value of a counter series (for tests and benchmarks). */
  static async value(counter: Counter<string>, labels: Record<string, string>): Promise<number> {
    const { values } = await counter.get();
    return values
      .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
      .reduce((sum, v) => sum + v.value, 0);
  }
}
