/**
 * Flags and environment -> a validated configuration. Upstream's flag names are kept (`--region`,
 * `--cluster-name`, `--refresh-interval-seconds`, `--events-only`, EVENT_NAMESPACE); the rest are new
 * and each default is written next to it. Every `--flag` also reads `MINION_MANAGER_<FLAG>` from the
 * environment (flags win).
 */
import { parseArgs } from 'node:util';
import type { BackoffOptions } from './decision/backoff.js';
import type { Policy } from './decision/types.js';

export interface Config {
  clusterName: string;
  region?: string;
  refreshIntervalMs: number;
  /** Cycle interval while a replacement is in flight. */
  replacementPollMs: number;
  eventsOnly: boolean;
  eventNamespace: string;
  namespace: string;
  statusConfigMap: string;
  defaults: Policy;
  backoff: BackoffOptions;
  drainTimeoutMs: number;
  evictionRetryMs: number;
  priceCacheTtlMs: number;
  recommendationRefreshMs: number;
  concurrency: number;
  opsPort: number;
  leaderElect: boolean;
  logLevel: string;
}

interface Flag {
  type: 'string' | 'boolean';
  default: string | boolean;
  help: string;
}

export const FLAGS: Record<string, Flag> = {
  'cluster-name': {
    type: 'string',
    default: '',
    help: 'Required. Groups tagged KubernetesCluster=<name> or kubernetes.io/cluster/<name> are considered (upstream flag).',
  },
  region: {
    type: 'string',
    default: '',
    help: 'AWS region; default AWS_REGION, then IMDS (upstream flag, no longer required).',
  },
  'refresh-interval-seconds': {
    type: 'string',
    default: '60',
    help: 'Seconds between cycles (upstream flag; upstream default 300).',
  },
  'replacement-poll-seconds': {
    type: 'string',
    default: '10',
    help: 'Seconds between cycles while an instance replacement is in flight.',
  },
  'events-only': {
    type: 'boolean',
    default: false,
    help: 'Only publish SpotRecommendationGiven Events and status; never change a group or an instance (upstream flag).',
  },
  'event-namespace': {
    type: 'string',
    default: '',
    help: 'Namespace of the Events; default EVENT_NAMESPACE, then the pod namespace (upstream env EVENT_NAMESPACE).',
  },
  'status-configmap': {
    type: 'string',
    default: 'minion-manager-status',
    help: 'ConfigMap (in the pod namespace) holding status per group.',
  },
  'spot-enter-ratio': {
    type: 'string',
    default: '0.7',
    help: 'Default for tag k8s-minion-manager/spot-enter-ratio: go spot at spot/on-demand <= this.',
  },
  'spot-exit-ratio': {
    type: 'string',
    default: '0.85',
    help: 'Default for tag k8s-minion-manager/spot-exit-ratio: leave spot at spot/on-demand >= this.',
  },
  'min-dwell-seconds': {
    type: 'string',
    default: '1800',
    help: 'Default for tag k8s-minion-manager/min-dwell-seconds: least time in a market before a price-driven move.',
  },
  'max-unavailable': {
    type: 'string',
    default: '1',
    help: 'Default for tag k8s-minion-manager/max-unavailable: instances replaced (or down) at once per group.',
  },
  'on-demand-base-capacity': {
    type: 'string',
    default: '0',
    help: 'Default for tag k8s-minion-manager/on-demand-base-capacity.',
  },
  'capacity-backoff-seconds': {
    type: 'string',
    default: '600',
    help: 'First back-off of a spot pool after a capacity failure; doubles per repeat.',
  },
  'capacity-backoff-max-seconds': {
    type: 'string',
    default: '7200',
    help: 'Ceiling of the capacity back-off.',
  },
  'drain-timeout-seconds': {
    type: 'string',
    default: '600',
    help: 'A drain not complete by then is abandoned: the node is uncordoned and the instance kept.',
  },
  'eviction-retry-seconds': {
    type: 'string',
    default: '5',
    help: 'Back-off before retrying an eviction a PDB refused.',
  },
  'price-cache-ttl-seconds': {
    type: 'string',
    default: '21600',
    help: 'How long an on-demand price from the Pricing API is kept.',
  },
  'recommendation-refresh-seconds': {
    type: 'string',
    default: '300',
    help: 'Rewrite an unchanged SpotRecommendationGiven Event this often.',
  },
  concurrency: { type: 'string', default: '4', help: 'Groups reconciled at once.' },
  'ops-port': { type: 'string', default: '8080', help: '/healthz, /readyz and /metrics.' },
  'leader-elect': {
    type: 'boolean',
    default: false,
    help: 'Hold the Lease minion-manager-leader in the pod namespace (the chart turns it on).',
  },
  'log-level': { type: 'string', default: 'info', help: 'pino level.' },
};

export class ConfigError extends Error {}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.entries(FLAGS).map(([k, f]) => [k, { type: f.type }])),
    allowPositionals: false,
    strict: true,
  });
  const get = (flag: string): string | boolean => {
    const v = values[flag];
    if (v !== undefined) return v as string | boolean;
    const e = env[`MINION_MANAGER_${flag.toUpperCase().replace(/-/g, '_')}`];
    if (e !== undefined) return FLAGS[flag]?.type === 'boolean' ? e === 'true' : e;
    return FLAGS[flag]?.default as string | boolean;
  };
  const num = (flag: string, min: number, max = Number.POSITIVE_INFINITY) => {
    const n = Number(get(flag));
    if (!Number.isFinite(n) || n < min || n > max)
      throw new ConfigError(`--${flag} must be a number in [${min}, ${max}], got ${get(flag)}`);
    return n;
  };
  const clusterName = String(get('cluster-name') || env.CLUSTER_NAME || '');
  if (!clusterName) throw new ConfigError('--cluster-name is required');
  const namespace = env.POD_NAMESPACE || 'default';
  const defaults: Policy = {
    enterSpotRatio: num('spot-enter-ratio', 0.01, 1),
    exitSpotRatio: num('spot-exit-ratio', 0.01, 2),
    minDwellMs: num('min-dwell-seconds', 0) * 1000,
    maxUnavailable: num('max-unavailable', 1),
    onDemandBaseCapacity: num('on-demand-base-capacity', 0),
  };
  if (defaults.exitSpotRatio <= defaults.enterSpotRatio)
    throw new ConfigError('--spot-exit-ratio must be greater than --spot-enter-ratio');
  return {
    clusterName,
    region: String(get('region')) || undefined,
    refreshIntervalMs: num('refresh-interval-seconds', 0.1) * 1000,
    replacementPollMs: num('replacement-poll-seconds', 0.1) * 1000,
    eventsOnly: get('events-only') === true,
    eventNamespace: String(get('event-namespace')) || env.EVENT_NAMESPACE || namespace,
    namespace,
    statusConfigMap: String(get('status-configmap')),
    defaults,
    backoff: {
      baseMs: num('capacity-backoff-seconds', 1) * 1000,
      maxMs: num('capacity-backoff-max-seconds', 1) * 1000,
    },
    drainTimeoutMs: num('drain-timeout-seconds', 1) * 1000,
    evictionRetryMs: num('eviction-retry-seconds', 0.1) * 1000,
    priceCacheTtlMs: num('price-cache-ttl-seconds', 1) * 1000,
    recommendationRefreshMs: num('recommendation-refresh-seconds', 1) * 1000,
    concurrency: num('concurrency', 1),
    opsPort: num('ops-port', 0, 65535),
    leaderElect: get('leader-elect') === true,
    logLevel: String(get('log-level')),
  };
}
