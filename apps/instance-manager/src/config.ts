/**
 * Flags and environment of the controller process, with the default next to each flag. Upstream's
 * flag names are kept where upstream had them.
 */
import { parseArgs } from 'node:util';
import type { NodeIdentityDefault } from './planner/node-identity.js';

export interface Config {
  /** `--ops-port` (default 8080): /healthz, /readyz, /metrics. */
  opsPort: number;
  /** `--leader-elect` (default false here, true in the chart; upstream `--enable-leader-election`). */
  leaderElect: boolean;
  /** `POD_NAMESPACE` (default `instance-manager`): where the lease lives. */
  leaseNamespace: string;
  /** `--config-namespace` (default `instance-manager`): where the defaults ConfigMap lives. */
  configNamespace: string;
  /** `--max-workers` (default 5). */
  maxWorkers: number;
  /** `--max-api-retries` (default 12). */
  maxApiRetries: number;
  /** `--config-retention` (default 2): old launch template versions kept. */
  configRetention: number;
  /** `--resync-period` seconds (default 300): resync of settled groups, jittered. */
  resyncSeconds: number;
  /** `--poll-period` seconds (default 10): requeue of groups in progress. */
  pollSeconds: number;
  /** `--drain-timeout` seconds (default 60): drain wait per reconcile before requeueing. */
  drainTimeoutSeconds: number;
  /** `--region` (default: AWS_REGION, then IMDS). */
  region?: string;
  /** `--log-level` (default info). */
  logLevel: string;
  /**
   * `--node-identity` (default `auto`): how node roles are authorised when a group's
   * `spec.eks.configuration.nodeIdentity` is unset: `aws-auth`, `access-entry` (EKS access entries),
   * or `auto` (access-entry when the cluster's authenticationMode is API, else aws-auth).
   */
  nodeIdentity: NodeIdentityDefault;
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'ops-port': { type: 'string' },
      'leader-elect': { type: 'string' },
      'enable-leader-election': { type: 'boolean' },
      'config-namespace': { type: 'string' },
      'max-workers': { type: 'string' },
      'max-api-retries': { type: 'string' },
      'config-retention': { type: 'string' },
      'resync-period': { type: 'string' },
      'poll-period': { type: 'string' },
      'drain-timeout': { type: 'string' },
      region: { type: 'string' },
      'log-level': { type: 'string' },
      'node-identity': { type: 'string' },
    },
  });
  const int = (name: string, v: string | undefined, def: number, min = 0): number => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
    return n;
  };
  const identity = values['node-identity'] ?? 'auto';
  if (identity !== 'auto' && identity !== 'aws-auth' && identity !== 'access-entry')
    throw new Error(`--node-identity must be auto, aws-auth or access-entry, got ${identity}`);
  const bool = (v: string | undefined, def: boolean) => (v === undefined ? def : v === 'true' || v === '');
  return {
    opsPort: int('ops-port', values['ops-port'], 8080),
    leaderElect: values['enable-leader-election'] ?? bool(values['leader-elect'], false),
    leaseNamespace: env.POD_NAMESPACE ?? 'instance-manager',
    configNamespace: values['config-namespace'] ?? 'instance-manager',
    maxWorkers: int('max-workers', values['max-workers'], 5, 1),
    maxApiRetries: int('max-api-retries', values['max-api-retries'], 12, 1),
    configRetention: int('config-retention', values['config-retention'], 2),
    resyncSeconds: int('resync-period', values['resync-period'], 300, 1),
    pollSeconds: int('poll-period', values['poll-period'], 10, 1),
    drainTimeoutSeconds: int('drain-timeout', values['drain-timeout'], 60, 1),
    ...(values.region ? { region: values.region } : {}),
    logLevel: values['log-level'] ?? 'info',
    nodeIdentity: identity,
  };
}
