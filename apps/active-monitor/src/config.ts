import { readFlags } from '@keiko/operator-kit';
/**
 * Flags and environment -> configuration. Upstream's `--max-workers` and `--leader-elect` keep their
 * names; upstream's `--metrics-bind-address`/`--health-probe-bind-address` collapse into `--ops-port`
 * (their port is used). `--flag=value`, `--flag value` and `--flag` (true) work;
 * `ACTIVE_MONITOR_<FLAG_IN_CAPS>` is the fallback. Each default is written next to its flag.
 */
export interface Config {
  /** --ops-port (8080): /healthz, /readyz, /metrics. */
  opsPort: number;
  /** --leader-elect (false; true in the chart): lease `active-monitor-leader` in POD_NAMESPACE. */
  leaderElect: boolean;
  /** POD_NAMESPACE (default `health`, upstream's namespace): where the lease lives. */
  leaseNamespace: string;
  /** --log-level (info). */
  logLevel: string;
  /** --max-workers (10, upstream's default): concurrent reconciles of changes (queue). */
  maxWorkers: number;
  /** --schedule-workers (50): concurrent passes started by due times (runs, deadlines). */
  scheduleWorkers: number;
  /** --instance-id (activemonitor-workflows): Argo instance-id label added to Workflows without one. */
  instanceId: string;
  /** --namespace (all): watch HealthChecks in one namespace only. */
  namespace: string | undefined;
  /** --source-timeout-seconds (10): timeout of a URL source fetch (upstream had none). */
  sourceTimeoutSeconds: number;
  /** --source-cache-seconds (300): how long a fetched URL source is reused. */
  sourceCacheSeconds: number;
}

const FLAGS = {
  'ops-port': 'opsPort',
  'metrics-bind-address': 'opsPort',
  'health-probe-bind-address': 'opsPort',
  'leader-elect': 'leaderElect',
  'log-level': 'logLevel',
  'max-workers': 'maxWorkers',
  'schedule-workers': 'scheduleWorkers',
  'instance-id': 'instanceId',
  namespace: 'namespace',
  'source-timeout-seconds': 'sourceTimeoutSeconds',
  'source-cache-seconds': 'sourceCacheSeconds',
} as const satisfies Record<string, keyof Config>;

export const DEFAULTS: Config = {
  opsPort: 8080,
  leaderElect: false,
  leaseNamespace: 'health',
  logLevel: 'info',
  maxWorkers: 10,
  scheduleWorkers: 50,
  instanceId: 'activemonitor-workflows',
  namespace: undefined,
  sourceTimeoutSeconds: 10,
  sourceCacheSeconds: 300,
};

/** Parses argv (without node and script) and env; throws a message naming the flag on bad input. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  const raw = readFlags(argv, env, Object.keys(FLAGS), 'ACTIVE_MONITOR');
  const config: Config = { ...DEFAULTS, ...(env.POD_NAMESPACE ? { leaseNamespace: env.POD_NAMESPACE } : {}) };
  const set = config as unknown as Record<string, unknown>;
  for (const [flag, rawValue] of raw) {
    const key = FLAGS[flag as keyof typeof FLAGS];
    // `:8443` / `0.0.0.0:8081` from upstream's bind-address flags: keep the port.
    const value = flag.endsWith('bind-address') ? (rawValue.split(':').pop() ?? '') : rawValue;
    const current = DEFAULTS[key];
    if (typeof current === 'boolean') {
      if (value !== 'true' && value !== 'false')
        throw new Error(`--${flag} must be true or false, not ${value}`);
      set[key] = value === 'true';
    } else if (typeof current === 'number') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0)
        throw new Error(`--${flag} must be a non-negative integer, not ${value}`);
      set[key] = n;
    } else {
      set[key] = value;
    }
  }
  if (config.maxWorkers < 1) throw new Error('--max-workers must be at least 1');
  if (config.scheduleWorkers < 1) throw new Error('--schedule-workers must be at least 1');
  if (config.sourceTimeoutSeconds < 1) throw new Error('--source-timeout-seconds must be at least 1');
  return config;
}
