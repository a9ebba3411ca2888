/**
 * The option tables: for each reaper, every flag (upstream's name), its config-file key, environment
 * variables, default, bounds and help. The single source of truth for parsing (config.ts) and for the
 * docs (docs.ts).
 */
export type Command = 'node' | 'pod' | 'pdb';
type Kind = 'boolean' | 'number' | 'integer' | 'string' | 'strings';

export interface OptionSpec {
  /** Key in the config object and in the config file. */
  key: string;
  /** Upstream's flag name, without the dashes. */
  flag: string;
  kind: Kind;
  default: boolean | number | string | string[];
  min?: number;
  max?: number;
  help: string;
  /** Extra environment variables read for this option (upstream names such as NODE_NAME). */
  env?: string[];
  /** Set when the default differs from upstream's, and why. */
  changed?: string;
  /** True for options that upstream did not have. */
  added?: boolean;
}

const common: OptionSpec[] = [
  {
    key: 'kubeconfig',
    flag: 'kubeconfig',
    kind: 'string',
    default: '',
    help: 'Kubeconfig path; empty: KUBECONFIG, then in-cluster.',
    env: ['KUBECONFIG'],
  },
  {
    key: 'localMode',
    flag: 'local-mode',
    kind: 'boolean',
    default: false,
    help: 'Accepted for compatibility: out-of-cluster use only needs --kubeconfig.',
  },
  {
    key: 'dryRun',
    flag: 'dry-run',
    kind: 'boolean',
    default: false,
    help: 'Print the plan as JSON (candidate, reason, action) and change nothing: no patch, delete, event or AWS write.',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    kind: 'string',
    default: 'info',
    help: 'pino level: debug, info, warn, error.',
    env: ['LOG_LEVEL'],
  },
  {
    key: 'lock',
    flag: 'lock',
    kind: 'boolean',
    default: true,
    added: true,
    help: 'Hold the coordination.k8s.io Lease `governor-<reaper>` while acting, so overlapping runs never act at once.',
  },
  {
    key: 'lockNamespace',
    flag: 'lock-namespace',
    kind: 'string',
    default: 'default',
    added: true,
    env: ['POD_NAMESPACE'],
    help: 'Namespace of the Lease (and of PDB backups).',
  },
  {
    key: 'lockDurationSeconds',
    flag: 'lock-duration-seconds',
    kind: 'integer',
    default: 60,
    min: 10,
    added: true,
    help: 'Lease duration; renewed every third of it while the run lasts.',
  },
  {
    key: 'identity',
    flag: 'identity',
    kind: 'string',
    default: '',
    added: true,
    env: ['POD_NAME'],
    help: 'Lease holder identity; default <hostname>-<pid>.',
  },
  {
    key: 'metricsTextfile',
    flag: 'metrics-textfile',
    kind: 'string',
    default: '',
    added: true,
    help: 'Write the run metrics in Prometheus text format to this file (node-exporter textfile collector).',
  },
  {
    key: 'pushgatewayUrl',
    flag: 'pushgateway-url',
    kind: 'string',
    default: '',
    help: 'Push the run metrics to this Pushgateway (job `governor`, grouping `reaper`).',
  },
];

const node: OptionSpec[] = [
  {
    key: 'region',
    flag: 'region',
    kind: 'string',
    default: '',
    env: ['AWS_REGION'],
    help: 'AWS region; nodes of another region (label topology.kubernetes.io/region, else providerID) are skipped.',
  },
  {
    key: 'reapAfter',
    flag: 'reap-after',
    kind: 'number',
    default: 10,
    min: 1,
    help: 'Minutes a node must have been NotReady/Unknown (from the Ready condition lastTransitionTime).',
  },
  {
    key: 'softReap',
    flag: 'soft-reap',
    kind: 'boolean',
    default: true,
    help: 'Skip unready nodes that still run a Ready pod.',
  },
  {
    key: 'reapUnknown',
    flag: 'reap-unknown',
    kind: 'boolean',
    default: true,
    help: 'Reap nodes whose Ready condition is Unknown.',
  },
  {
    key: 'reapUnready',
    flag: 'reap-unready',
    kind: 'boolean',
    default: true,
    help: 'Reap nodes whose Ready condition is False.',
  },
  {
    key: 'reapGhost',
    flag: 'reap-ghost',
    kind: 'boolean',
    default: true,
    help: 'Delete Nodes whose instance is terminated or no longer known to EC2.',
  },
  {
    key: 'reapUnjoined',
    flag: 'reap-unjoined',
    kind: 'boolean',
    default: false,
    help: 'Terminate tagged running instances that never became Nodes.',
  },
  {
    key: 'reapUnjoinedThresholdMinutes',
    flag: 'reap-unjoined-threshold-minutes',
    kind: 'number',
    default: 15,
    min: 10,
    help: 'Minutes since launch before an unjoined instance is reaped.',
  },
  {
    key: 'reapUnjoinedTagKey',
    flag: 'reap-unjoined-tag-key',
    kind: 'string',
    default: '',
    help: 'Tag key of the instances that should join (required with --reap-unjoined).',
  },
  {
    key: 'reapUnjoinedTagValue',
    flag: 'reap-unjoined-tag-value',
    kind: 'string',
    default: '',
    help: 'Tag value (matched as a pair with the key).',
  },
  {
    key: 'reapFlappy',
    flag: 'reap-flappy',
    kind: 'boolean',
    default: true,
    help: 'Reap nodes with too many NodeReady events in the flap window.',
  },
  {
    key: 'flapCount',
    flag: 'flap-count',
    kind: 'integer',
    default: 5,
    min: 1,
    help: 'NodeReady events in the window that make a node flappy.',
  },
  {
    key: 'flapWindowMinutes',
    flag: 'flap-window-minutes',
    kind: 'number',
    default: 60,
    min: 1,
    added: true,
    help: 'The flap window (upstream: whatever the event TTL kept).',
  },
  {
    key: 'asgValidation',
    flag: 'asg-validation',
    kind: 'boolean',
    default: true,
    help: 'Act on a node only when its ASG is stable (desired = Healthy+InService, no suspended Launch/Terminate).',
  },
  {
    key: 'reapOld',
    flag: 'reap-old',
    kind: 'boolean',
    default: false,
    help: 'Rotate healthy nodes by age, oldest first.',
  },
  {
    key: 'reapOldThresholdMinutes',
    flag: 'reap-old-threshold-minutes',
    kind: 'number',
    default: 43200,
    min: 1,
    help: 'Node age (from creationTimestamp) that makes it old.',
  },
  {
    key: 'reapOldThrottle',
    flag: 'reap-old-throttle',
    kind: 'integer',
    default: 1800,
    min: 0,
    help: 'Seconds to wait after each old-node termination.',
  },
  {
    key: 'reapThrottle',
    flag: 'reap-throttle',
    kind: 'integer',
    default: 300,
    min: 0,
    help: 'Seconds to wait after each unhealthy-node termination.',
  },
  {
    key: 'maxKillNodes',
    flag: 'max-kill-nodes',
    kind: 'integer',
    default: 1,
    min: 1,
    help: 'Most nodes drained and terminated per run.',
  },
  {
    key: 'maxKillPercent',
    flag: 'max-kill-percent',
    kind: 'number',
    default: 20,
    min: 0,
    max: 100,
    added: true,
    help: 'Most nodes terminated per run, as a percentage of the cluster (rounded down, at least 1).',
  },
  {
    key: 'maxKillPercentPerAsg',
    flag: 'max-kill-percent-per-asg',
    kind: 'number',
    default: 50,
    min: 0,
    max: 100,
    added: true,
    help: 'Same, per ASG (rounded down, at least 1).',
  },
  {
    key: 'reapTainted',
    flag: 'reap-tainted',
    kind: 'strings',
    default: [],
    help: 'Taints that make a node reapable: key=value:effect, key:effect or key (repeatable).',
  },
  {
    key: 'reconsiderUnreapableAfter',
    flag: 'reconsider-unreapable-after',
    kind: 'number',
    default: 45,
    min: 10,
    help: 'Minutes before a node whose drain failed is tried again (all reasons, not only age).',
  },
  {
    key: 'drainTimeout',
    flag: 'drain-timeout',
    kind: 'integer',
    default: 600,
    min: 1,
    help: 'Seconds a drain may take.',
    changed: 'minimum 1 instead of 600 (keikoproj/governor#67 asked for other values)',
  },
  {
    key: 'ignoreFailure',
    flag: 'ignore-failure',
    kind: 'boolean',
    default: false,
    help: 'After a failed drain leave the node cordoned instead of uncordoning it.',
  },
  {
    key: 'nodeName',
    flag: 'node-name',
    kind: 'string',
    default: '',
    env: ['NODE_NAME'],
    help: "The reaper's own node: never reaped.",
  },
  {
    key: 'nodeSelector',
    flag: 'node-selector',
    kind: 'string',
    default: '',
    added: true,
    help: 'Label selector limiting the nodes considered (caps are computed over them), e.g. one node group.',
  },
  {
    key: 'kubectl',
    flag: 'kubectl',
    kind: 'string',
    default: '',
    help: 'Accepted for compatibility and ignored: drain uses the Eviction API.',
  },
];

const namespaceOption: OptionSpec = {
  key: 'namespace',
  flag: 'namespace',
  kind: 'string',
  default: '',
  added: true,
  help: 'Only this namespace (default: all).',
};

const pod: OptionSpec[] = [
  namespaceOption,
  {
    key: 'reapAfter',
    flag: 'reap-after',
    kind: 'number',
    default: 10,
    min: 1,
    help: 'Minutes a pod may stay Terminating past its deletionTimestamp (which already includes its grace period).',
  },
  {
    key: 'softReap',
    flag: 'soft-reap',
    kind: 'boolean',
    default: true,
    help: 'Skip stuck pods that still have a running container (unless their node is gone).',
  },
  {
    key: 'reapCompleted',
    flag: 'reap-completed',
    kind: 'boolean',
    default: false,
    help: 'Delete Succeeded pods.',
  },
  {
    key: 'reapCompletedAfter',
    flag: 'reap-completed-after',
    kind: 'number',
    default: 240,
    min: 1,
    help: 'Minutes since the last container finished.',
  },
  {
    key: 'reapFailed',
    flag: 'reap-failed',
    kind: 'boolean',
    default: false,
    help: 'Delete Failed pods (evicted pods: from their creation/start time).',
  },
  {
    key: 'reapFailedAfter',
    flag: 'reap-failed-after',
    kind: 'number',
    default: 240,
    min: 1,
    help: 'Minutes since the last container finished.',
  },
  {
    key: 'removeFinalizersOnGoneNode',
    flag: 'remove-finalizers-on-gone-node',
    kind: 'boolean',
    default: true,
    added: true,
    help: 'For a stuck pod whose node no longer exists, also remove its finalizers (nothing else ever will).',
  },
];

const pdb: OptionSpec[] = [
  namespaceOption,
  {
    key: 'reapMisconfigured',
    flag: 'reap-misconfigured',
    kind: 'boolean',
    default: true,
    help: 'Delete blocking PDBs that can never allow a disruption.',
  },
  {
    key: 'reapMultiple',
    flag: 'reap-multiple',
    kind: 'boolean',
    default: true,
    help: 'Delete PDBs that select a pod another (older) PDB already selects.',
  },
  {
    key: 'reapCrashloop',
    flag: 'reap-crashloop',
    kind: 'boolean',
    default: false,
    help: 'Delete blocking PDBs whose pods are in CrashLoopBackOff.',
  },
  {
    key: 'allCrashloop',
    flag: 'all-crashloop',
    kind: 'boolean',
    default: true,
    help: 'Require every pod (not one) to crash-loop.',
  },
  {
    key: 'crashloopRestartCount',
    flag: 'crashloop-restart-count',
    kind: 'integer',
    default: 5,
    min: 1,
    help: 'Minimum restarts of a crash-looping container.',
  },
  {
    key: 'reapNotReady',
    flag: 'reap-not-ready',
    kind: 'boolean',
    default: false,
    help: 'Delete blocking PDBs whose pods have not been ContainersReady for the threshold.',
    changed: 'false instead of true: with all-not-ready false one unready pod deleted the PDB',
  },
  {
    key: 'allNotReady',
    flag: 'all-not-ready',
    kind: 'boolean',
    default: true,
    help: 'Require every pod (not one) to be not ready.',
    changed: 'true instead of false (same reason)',
  },
  {
    key: 'notReadyThresholdSeconds',
    flag: 'not-ready-threshold-seconds',
    kind: 'integer',
    default: 1800,
    min: 1,
    help: 'Seconds ContainersReady must have been False.',
  },
  {
    key: 'excludedNamespaces',
    flag: 'excluded-namespaces',
    kind: 'strings',
    default: [],
    help: 'Namespaces never touched (case-insensitive).',
  },
  {
    key: 'blockingForMinutes',
    flag: 'blocking-for-minutes',
    kind: 'number',
    default: 30,
    min: 0,
    added: true,
    help: 'A blocking PDB is deleted only after it has been reapable this long, across runs (annotation governor.keikoproj.io/reapable-since).',
  },
];

/**
 * Flags upstream's examples use that its code never defined (keikoproj/governor examples/pod-reaper.yaml
 * passes --reap-evicted): accepted as aliases so those CronJobs run unchanged. Evicted pods are Failed pods.
 */
export const ALIASES: Record<Command, Record<string, string>> = {
  node: {},
  pod: { 'reap-evicted': 'reap-failed', 'reap-evicted-after': 'reap-failed-after' },
  pdb: {},
};

export const OPTIONS: Record<Command, OptionSpec[]> = {
  node: [...common, ...node],
  pod: [...common, ...pod],
  pdb: [...common, ...pdb],
};

export interface CommonConfig {
  kubeconfig: string;
  localMode: boolean;
  dryRun: boolean;
  logLevel: string;
  lock: boolean;
  lockNamespace: string;
  lockDurationSeconds: number;
  identity: string;
  metricsTextfile: string;
  pushgatewayUrl: string;
}

export interface NodeReaperConfig extends CommonConfig {
  region: string;
  reapAfter: number;
  softReap: boolean;
  reapUnknown: boolean;
  reapUnready: boolean;
  reapGhost: boolean;
  reapUnjoined: boolean;
  reapUnjoinedThresholdMinutes: number;
  reapUnjoinedTagKey: string;
  reapUnjoinedTagValue: string;
  reapFlappy: boolean;
  flapCount: number;
  flapWindowMinutes: number;
  asgValidation: boolean;
  reapOld: boolean;
  reapOldThresholdMinutes: number;
  reapOldThrottle: number;
  reapThrottle: number;
  maxKillNodes: number;
  maxKillPercent: number;
  maxKillPercentPerAsg: number;
  reapTainted: string[];
  reconsiderUnreapableAfter: number;
  drainTimeout: number;
  ignoreFailure: boolean;
  nodeName: string;
  nodeSelector: string;
  kubectl: string;
}

export interface PodReaperConfig extends CommonConfig {
  namespace: string;
  reapAfter: number;
  softReap: boolean;
  reapCompleted: boolean;
  reapCompletedAfter: number;
  reapFailed: boolean;
  reapFailedAfter: number;
  removeFinalizersOnGoneNode: boolean;
}

export interface PdbReaperConfig extends CommonConfig {
  namespace: string;
  reapMisconfigured: boolean;
  reapMultiple: boolean;
  reapCrashloop: boolean;
  allCrashloop: boolean;
  crashloopRestartCount: number;
  reapNotReady: boolean;
  allNotReady: boolean;
  notReadyThresholdSeconds: number;
  excludedNamespaces: string[];
  blockingForMinutes: number;
}

export interface ConfigByCommand {
  node: NodeReaperConfig;
  pod: PodReaperConfig;
  pdb: PdbReaperConfig;
}
