/** Flags and environment: upstream names, defaults, validation. */
import { expect, test } from '@jest/globals';
import { ConfigError, parseConfig } from '../src/config.js';

test('defaults, upstream flags and environment', () => {
  const c = parseConfig(['--cluster-name', 'prod', '--events-only'], {
    POD_NAMESPACE: 'kube-system',
    EVENT_NAMESPACE: 'events',
  });
  expect(c).toMatchObject({
    clusterName: 'prod',
    eventsOnly: true,
    refreshIntervalMs: 60_000,
    namespace: 'kube-system',
    eventNamespace: 'events',
    statusConfigMap: 'minion-manager-status',
    defaults: {
      enterSpotRatio: 0.7,
      exitSpotRatio: 0.85,
      minDwellMs: 1_800_000,
      maxUnavailable: 1,
      onDemandBaseCapacity: 0,
    },
    backoff: { baseMs: 600_000, maxMs: 7_200_000 },
    drainTimeoutMs: 600_000,
  });
  expect(
    parseConfig([], { CLUSTER_NAME: 'c', MINION_MANAGER_REFRESH_INTERVAL_SECONDS: '300' }).refreshIntervalMs,
  ).toBe(300_000);
  expect(
    parseConfig(['--cluster-name=c', '--refresh-interval-seconds=5'], {
      MINION_MANAGER_REFRESH_INTERVAL_SECONDS: '300',
    }).refreshIntervalMs,
  ).toBe(5_000);
});

test.each([
  [[], '--cluster-name is required'],
  [
    ['--cluster-name=c', '--spot-enter-ratio=0.9', '--spot-exit-ratio=0.8'],
    '--spot-exit-ratio must be greater than --spot-enter-ratio',
  ],
  [['--cluster-name=c', '--max-unavailable=0'], '--max-unavailable must be a number in [1, Infinity], got 0'],
  [['--cluster-name=c', '--drain-timeout-seconds=soon'], '--drain-timeout-seconds must be a number'],
])('%j is rejected', (argv, message) => {
  expect(() => parseConfig(argv as string[], {})).toThrow(ConfigError);
  expect(() => parseConfig(argv as string[], {})).toThrow(message);
});
