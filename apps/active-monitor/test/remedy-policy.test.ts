/** The remedy decision: limit, reset interval and failure threshold, independently. */
import { describe, expect, it } from '@jest/globals';
import type { HealthCheckSpec, HealthCheckStatus } from '../src/api/healthcheck.js';
import { decideRemedy } from '../src/remedy/policy.js';

const block = { resource: { namespace: 'health', source: { inline: 'spec: {}' } } };
const base: HealthCheckSpec = {
  level: 'namespace',
  repeatAfterSec: 60,
  workflow: block,
  remedyworkflow: block,
};
const now = new Date('2026-03-01T01:00:00Z');
const ago = (s: number) => new Date(now.getTime() - s * 1000).toISOString();

describe('decideRemedy', () => {
  const cases: [string, Partial<HealthCheckSpec>, HealthCheckStatus, object][] = [
    [
      'no remedy workflow',
      { remedyworkflow: undefined },
      { consecutiveFailures: 1 },
      { run: false, reason: 'NoRemedy' },
    ],
    ['no limit: every failure', {}, { consecutiveFailures: 9, remedyTotalRuns: 40 }, { run: true }],
    [
      'below the failure threshold',
      { remedyFailureThreshold: 3 },
      { consecutiveFailures: 2 },
      { run: false, reason: 'BelowThreshold' },
    ],
    ['at the failure threshold', { remedyFailureThreshold: 3 }, { consecutiveFailures: 3 }, { run: true }],
    [
      'under the limit',
      { remedyRunsLimit: 2 },
      { consecutiveFailures: 2, remedyTotalRuns: 1 },
      { run: true },
    ],
    // Upstream ignored the limit without a reset interval; here the limit alone holds.
    [
      'limit alone holds',
      { remedyRunsLimit: 2 },
      { consecutiveFailures: 3, remedyTotalRuns: 2, remedyFinishedAt: ago(99_999) },
      { run: false, reason: 'LimitReached', retryAfter: undefined },
    ],
    [
      'limit reached, interval not yet passed',
      { remedyRunsLimit: 2, remedyResetInterval: 600 },
      { consecutiveFailures: 3, remedyTotalRuns: 2, remedyFinishedAt: ago(300) },
      { run: false, reason: 'LimitReached', retryAfter: new Date(now.getTime() + 300_000) },
    ],
    [
      'limit reached, interval passed: reset and run',
      { remedyRunsLimit: 2, remedyResetInterval: 600 },
      { consecutiveFailures: 3, remedyTotalRuns: 2, remedyFinishedAt: ago(600) },
      { run: true, resetCounters: true },
    ],
    [
      'interval alone resets counters, never blocks',
      { remedyResetInterval: 600 },
      { consecutiveFailures: 3, remedyTotalRuns: 5, remedyFinishedAt: ago(700) },
      { run: true, resetCounters: true },
    ],
    [
      'interval alone, not passed: runs, no reset',
      { remedyResetInterval: 600 },
      { consecutiveFailures: 3, remedyTotalRuns: 5, remedyFinishedAt: ago(10) },
      { run: true, resetCounters: false },
    ],
  ];
  it.each(cases)('%s', (_name, spec, status, expected) => {
    expect(decideRemedy({ ...base, ...spec }, status, now)).toMatchObject(expected);
  });
});
