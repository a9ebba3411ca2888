import { readFlags } from '@keiko/operator-kit';
/**
 * Flags and environment -> configuration of the controller. Upstream's flag names are kept
 * (`--worker-namespace`, `--worker-image`); each default is written next to its flag. `--flag=value`,
 * `--flag value` and `--flag` (true) work; `KUBE_FORENSICS_<FLAG_IN_CAPS>` is the fallback.
 */
export interface Config {
  /** --worker-namespace (POD_NAMESPACE, else `forensics-system`): where capture Jobs run. */
  workerNamespace: string;
  /** --worker-image (keikoproj/kube-forensics:latest; the chart pins it): image of the capture Job (this app's image). */
  workerImage: string;
  /** --worker-service-account (kube-forensics-worker): ServiceAccount of the capture Job. */
  workerServiceAccount: string;
  /** --allowed-buckets (empty = any): comma-separated S3 buckets captures may go to; `prefix*` allowed. */
  allowedBuckets: string[];
  /** --job-deadline-seconds (900): activeDeadlineSeconds of the capture Job. */
  jobDeadlineSeconds: number;
  /** --job-ttl-seconds (3600): ttlSecondsAfterFinished of the capture Job. */
  jobTtlSeconds: number;
  /** --job-backoff-limit (1): retries of a failed capture pod. */
  jobBackoffLimit: number;
  /** --cri-endpoint (unix:///run/containerd/containerd.sock): the node's CRI socket, mounted read-only. */
  criEndpoint: string;
  /** --worker-host-network (false): only needed when the worker takes credentials from the node's IMDS. */
  workerHostNetwork: boolean;
  /** --worker-aws-region (unset): AWS_REGION of the worker (else the SDK asks IMDS). */
  workerAwsRegion: string | undefined;
  /** --worker-priority-class (unset): priorityClassName of the capture pod. */
  workerPriorityClass: string | undefined;
  /** --allow-isolation (false): honour spec.isolate (label the pod, cordon the node); needs pods and nodes patch RBAC. */
  allowIsolation: boolean;
  /** --namespace (all): watch PodCheckpoints in one namespace only. */
  namespace: string | undefined;
  /** --ops-port (8080): /healthz, /readyz, /metrics. */
  opsPort: number;
  /** --leader-elect (false; true in the chart): lease `kube-forensics-leader` in POD_NAMESPACE. */
  leaderElect: boolean;
  /** POD_NAMESPACE (default `forensics-system`): where the lease lives. */
  leaseNamespace: string;
  /** --log-level (info). */
  logLevel: string;
  /** --pod-wait-seconds (10): how often a request waiting for its pod's containers looks again (upstream: 10 s). */
  podWaitSeconds: number;
}

const FLAGS = {
  'worker-namespace': 'workerNamespace',
  'worker-image': 'workerImage',
  'worker-service-account': 'workerServiceAccount',
  'allowed-buckets': 'allowedBuckets',
  'job-deadline-seconds': 'jobDeadlineSeconds',
  'job-ttl-seconds': 'jobTtlSeconds',
  'job-backoff-limit': 'jobBackoffLimit',
  'cri-endpoint': 'criEndpoint',
  'worker-host-network': 'workerHostNetwork',
  'worker-aws-region': 'workerAwsRegion',
  'worker-priority-class': 'workerPriorityClass',
  'allow-isolation': 'allowIsolation',
  namespace: 'namespace',
  'ops-port': 'opsPort',
  'leader-elect': 'leaderElect',
  'log-level': 'logLevel',
  'pod-wait-seconds': 'podWaitSeconds',
} as const satisfies Record<string, keyof Config>;

export const DEFAULTS: Config = {
  workerNamespace: 'forensics-system',
  workerImage: 'keikoproj/kube-forensics:latest',
  workerServiceAccount: 'kube-forensics-worker',
  allowedBuckets: [],
  jobDeadlineSeconds: 900,
  jobTtlSeconds: 3600,
  jobBackoffLimit: 1,
  criEndpoint: 'unix:///run/containerd/containerd.sock',
  workerHostNetwork: false,
  workerAwsRegion: undefined,
  workerPriorityClass: undefined,
  allowIsolation: false,
  namespace: undefined,
  opsPort: 8080,
  leaderElect: false,
  leaseNamespace: 'forensics-system',
  logLevel: 'info',
  podWaitSeconds: 10,
};

/** Parses argv (without node and script) and env; throws a message naming the flag on bad input. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  const raw = readFlags(argv, env, Object.keys(FLAGS), 'KUBE_FORENSICS');
  const podNamespace = env.POD_NAMESPACE;
  const config: Config = {
    ...DEFAULTS,
    ...(podNamespace ? { workerNamespace: podNamespace, leaseNamespace: podNamespace } : {}),
  };
  const set = config as unknown as Record<string, unknown>;
  for (const [flag, value] of raw) {
    const key = FLAGS[flag as keyof typeof FLAGS];
    const current = DEFAULTS[key];
    if (key === 'allowedBuckets') {
      set[key] = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    } else if (typeof current === 'boolean') {
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
  if (config.jobDeadlineSeconds < 1) throw new Error('--job-deadline-seconds must be at least 1');
  if (!/^unix:\/\/\//.test(config.criEndpoint))
    throw new Error(`--cri-endpoint must be unix:///path, not ${config.criEndpoint}`);
  return config;
}
