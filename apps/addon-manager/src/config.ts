import { readFlags } from '@keiko/operator-kit';
/**
 * Flags and environment -> configuration, each default written next to its flag. `--flag=value`,
 * `--flag value` and `--flag` (true) work; `ADDON_MANAGER_<FLAG_IN_CAPS>` is the env fallback.
 * Upstream's only flags were --metrics-addr, --enable-leader-election and --debug; everything it
 * hard-coded (namespace, TTLs, instance id) is a flag here.
 */
export interface Config {
  /** --namespaces (all): comma-separated namespaces whose Addons are managed; empty: every namespace. */
  namespaces: string[];
  /** --workflow-instance-id (addon-manager-workflow-controller, upstream's): Argo instance id label; "" for none. */
  workflowInstanceId: string;
  /** --workflow-active-deadline (300 s, upstream's): activeDeadlineSeconds of a workflow that sets none. */
  workflowActiveDeadlineSeconds: number;
  /** --workflow-ttl (259200 s = 72 h, upstream's): ttlStrategy.secondsAfterCompletion when unset. */
  workflowTtlSeconds: number;
  /** --install-timeout (3600 s, upstream's TTL): a run not finished by then is Failed. */
  installTimeoutSeconds: number;
  /** --delete-timeout (600 s): a delete workflow not finished by then is Delete Failed. */
  deleteTimeoutSeconds: number;
  /** --workers (2): Addons reconciled in parallel. */
  workers: number;
  /** --ops-port (8080): /healthz, /readyz, /metrics. */
  opsPort: number;
  /** --leader-elect (false; true in the chart): lease `addon-manager-leader` in POD_NAMESPACE. */
  leaderElect: boolean;
  /** POD_NAMESPACE (default `default`): where the lease lives. */
  leaseNamespace: string;
  /** --log-level (info). */
  logLevel: string;
}

const FLAGS = {
  namespaces: 'namespaces',
  'workflow-instance-id': 'workflowInstanceId',
  'workflow-active-deadline': 'workflowActiveDeadlineSeconds',
  'workflow-ttl': 'workflowTtlSeconds',
  'install-timeout': 'installTimeoutSeconds',
  'delete-timeout': 'deleteTimeoutSeconds',
  workers: 'workers',
  'ops-port': 'opsPort',
  'leader-elect': 'leaderElect',
  // upstream's spelling, kept so an upstream Deployment's args still parse
  'enable-leader-election': 'leaderElect',
  'log-level': 'logLevel',
} as const satisfies Record<string, keyof Config>;

export const DEFAULTS: Config = {
  namespaces: [],
  workflowInstanceId: 'addon-manager-workflow-controller',
  workflowActiveDeadlineSeconds: 300,
  workflowTtlSeconds: 259_200,
  installTimeoutSeconds: 3_600,
  deleteTimeoutSeconds: 600,
  workers: 2,
  opsPort: 8080,
  leaderElect: false,
  leaseNamespace: 'default',
  logLevel: 'info',
};

/** Parses argv (without node and script) and env; throws a message naming the flag on bad input. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  const raw = readFlags(argv, env, Object.keys(FLAGS), 'ADDON_MANAGER');
  const config: Config = {
    ...DEFAULTS,
    namespaces: [],
    leaseNamespace: env.POD_NAMESPACE ?? DEFAULTS.leaseNamespace,
  };
  const target = config as unknown as Record<string, unknown>;
  for (const [flag, value] of raw) {
    const key = FLAGS[flag as keyof typeof FLAGS];
    const current = DEFAULTS[key];
    if (Array.isArray(current)) {
      target[key] = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    } else if (typeof current === 'boolean') {
      if (value !== 'true' && value !== 'false')
        throw new Error(`--${flag} must be true or false, not ${value}`);
      target[key] = value === 'true';
    } else if (typeof current === 'number') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0)
        throw new Error(`--${flag} must be a non-negative integer, not ${value}`);
      target[key] = n;
    } else {
      target[key] = value;
    }
  }
  if (config.workers < 1) throw new Error('--workers must be at least 1');
  if (config.installTimeoutSeconds < 1) throw new Error('--install-timeout must be at least 1');
  return config;
}
