/**
 * The Kubernetes objects the reapers read, as the API server sends them (timestamps are strings), with
 * only the fields they use, and the REST resources they act on.
 */
import {
  CoreResources,
  type ObjectMeta as KitObjectMeta,
  type KubeObject,
  type Resource,
} from '@keiko/operator-kit';

export interface ObjectMeta extends KitObjectMeta {
  name: string;
  deletionGracePeriodSeconds?: number;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown' | string;
  lastTransitionTime?: string;
  reason?: string;
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Node extends KubeObject {
  metadata: ObjectMeta;
  spec?: { providerID?: string; unschedulable?: boolean; taints?: Taint[] };
  status?: { conditions?: Condition[] };
}

export interface ContainerStatus {
  name: string;
  restartCount?: number;
  state?: {
    running?: { startedAt?: string };
    waiting?: { reason?: string };
    terminated?: { finishedAt?: string; exitCode?: number; reason?: string };
  };
}

export interface Pod extends KubeObject {
  metadata: ObjectMeta;
  spec?: { nodeName?: string; terminationGracePeriodSeconds?: number };
  status?: {
    phase?: string;
    reason?: string;
    startTime?: string;
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

export interface PodDisruptionBudget extends KubeObject {
  metadata: ObjectMeta;
  spec?: { selector?: LabelSelector; minAvailable?: number | string; maxUnavailable?: number | string };
  status?: {
    disruptionsAllowed?: number;
    expectedPods?: number;
    currentHealthy?: number;
    desiredHealthy?: number;
  };
}

export interface Namespace extends KubeObject {
  metadata: ObjectMeta;
}

/** A core/v1 Event (the kubelet still writes those for NodeReady). */
export interface CoreEvent extends KubeObject {
  metadata: ObjectMeta;
  involvedObject?: { kind?: string; name?: string };
  reason?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  series?: { count?: number; lastObservedTime?: string };
}

export const Resources = {
  nodes: CoreResources.nodes,
  pods: CoreResources.pods,
  namespaces: CoreResources.namespaces,
  configMaps: CoreResources.configMaps,
  events: CoreResources.events,
  leases: CoreResources.leases,
  coreEvents: { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  pdbs: {
    group: 'policy',
    version: 'v1',
    plural: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    namespaced: true,
  },
} as const satisfies Record<string, Resource>;

/** Annotations and labels, upstream's names. */
export const STATE_ANNOTATION = 'governor.keikoproj.io/state';
export const AGE_UNREAPABLE_ANNOTATION = 'governor.keikoproj.io/age-unreapable';
export const NODE_REAPER_DISABLED_LABEL = 'governor.keikoproj.io/node-reaper-disabled';
export const REASON_DISABLED_LABELS = {
  NotReady: 'governor.keikoproj.io/reap-unready-disabled',
  Unknown: 'governor.keikoproj.io/reap-unknown-disabled',
  Flappy: 'governor.keikoproj.io/reap-flappy-disabled',
  Old: 'governor.keikoproj.io/reap-old-disabled',
} as const;
export const KARPENTER_REGISTERED_LABEL = 'karpenter.sh/registered';

export const DISABLE_POD_REAPER = 'governor.keikoproj.io/disable-pod-reaper';
export const DISABLE_STUCK_POD_REAP = 'governor.keikoproj.io/disable-stuck-pod-reap';
export const DISABLE_COMPLETED_POD_REAP = 'governor.keikoproj.io/disable-completed-pod-reap';
/** New: upstream reused the completed key for failed pods; that key is still honoured for them. */
export const DISABLE_FAILED_POD_REAP = 'governor.keikoproj.io/disable-failed-pod-reap';

export const PDB_REAPABLE_SINCE_ANNOTATION = 'governor.keikoproj.io/reapable-since';

export const conditionOf = (conditions: Condition[] | undefined, type: string) =>
  conditions?.find((c) => c.type === type);

export const minutesSince = (now: Date, iso: string | undefined): number =>
  iso ? (now.getTime() - Date.parse(iso)) / 60_000 : Number.NaN;

/** `namespace/name`: the key of every namespaced candidate (upstream keyed pods by name alone). */
export const keyOf = (m: ObjectMeta): string => (m.namespace ? `${m.namespace}/${m.name}` : m.name);
