/**
 * Flags and environment -> configuration. Upstream's flag names are kept where upstream had them;
 * each default is written next to its flag. `--flag=value`, `--flag value` and `--flag` (true) work;
 * an env var `UPGRADE_MANAGER_<FLAG_IN_CAPS>` is the fallback.
 */
export interface Config {
  /** --max-parallel (10): RollingUpgrades rolling at once, controller-wide; also the worker count. */
  maxParallel: number;
  /** --max-replacement-nodes (0 = unlimited): eager-mode surge instances in flight, controller-wide. */
  maxReplacementNodes: number;
  /** --drain-timeout (900 s): drain timeout when a CR sets none. 0 or -1: wait forever. */
  drainTimeoutSeconds: number;
  /** --ignore-drain-failures (false): default of spec.ignoreDrainFailures. */
  ignoreDrainFailures: boolean;
  /** --namespace (all): watch RollingUpgrades in one namespace only. */
  namespace: string | undefined;
  /** --ops-port (8080): /healthz, /readyz, /metrics. */
  opsPort: number;
  /** --leader-elect (false; true in the chart): lease `upgrade-manager-leader` in POD_NAMESPACE. */
  leaderElect: boolean;
  /** POD_NAMESPACE (default `default`): where the lease lives. */
  leaseNamespace: string;
  /** --log-level (info). */
  logLevel: string;
  /** --requeue-seconds (5): how often a running roll looks at AWS again (ASGs have no watch). */
  requeueSeconds: number;
  /** --hook-namespace (POD_NAMESPACE, else `default`): where hook Jobs run. */
  hookNamespace: string;
  /** --hook-image (busybox:1.37): image of a hook Job that sets no image (upstream `script` hooks run `sh -c` in it). */
  hookImage: string;
}

const FLAGS = {
  'max-parallel': 'maxParallel',
  'max-replacement-nodes': 'maxReplacementNodes',
  'drain-timeout': 'drainTimeoutSeconds',
  'ignore-drain-failures': 'ignoreDrainFailures',
  namespace: 'namespace',
  'ops-port': 'opsPort',
  'leader-elect': 'leaderElect',
  'log-level': 'logLevel',
  'requeue-seconds': 'requeueSeconds',
  'hook-namespace': 'hookNamespace',
  'hook-image': 'hookImage',
} as const satisfies Record<string, keyof Config>;

export const DEFAULTS: Config = {
  maxParallel: 10,
  maxReplacementNodes: 0,
  drainTimeoutSeconds: 900,
  ignoreDrainFailures: false,
  namespace: undefined,
  opsPort: 8080,
  leaderElect: false,
  leaseNamespace: 'default',
  logLevel: 'info',
  requeueSeconds: 5,
  hookNamespace: 'default',
  hookImage: 'busybox:1.37',
};

/** Parses argv (without node and script) and env; throws a message naming the flag on bad input. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  const raw = new Map<string, string>();
  for (const [flag] of Object.entries(FLAGS)) {
    const fromEnv = env[`UPGRADE_MANAGER_${flag.toUpperCase().replaceAll('-', '_')}`];
    if (fromEnv !== undefined) raw.set(flag, fromEnv);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (!(name in FLAGS)) throw new Error(`unknown flag --${name}`);
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        value = next;
        i++;
      } else {
        value = 'true';
      }
    }
    raw.set(name, value);
  }
  const config: Config = {
    ...DEFAULTS,
    leaseNamespace: env.POD_NAMESPACE ?? DEFAULTS.leaseNamespace,
    hookNamespace: env.POD_NAMESPACE ?? DEFAULTS.hookNamespace,
  };
  for (const [flag, value] of raw) {
    const key = FLAGS[flag as keyof typeof FLAGS];
    const current = DEFAULTS[key];
    if (typeof current === 'boolean') {
      if (value !== 'true' && value !== 'false')
        throw new Error(`--${flag} must be true or false, not ${value}`);
      (config as unknown as Record<string, unknown>)[key] = value === 'true';
    } else if (typeof current === 'number') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < (key === 'drainTimeoutSeconds' ? -1 : 0))
        throw new Error(`--${flag} must be a non-negative integer, not ${value}`);
      (config as unknown as Record<string, unknown>)[key] = n;
    } else {
      (config as unknown as Record<string, unknown>)[key] = value;
    }
  }
  if (config.maxParallel < 1) throw new Error('--max-parallel must be at least 1');
  return config;
}
