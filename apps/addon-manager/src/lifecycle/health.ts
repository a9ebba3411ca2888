/**
 * Readiness of the workloads an addon deployed, per kind, pure. The reconciler lists them (from its
 * informers, in `params.namespace`) and writes the result to `status.resources` and the
 * `ResourcesReady` condition.
 */
import type { KubeObject } from '@keiko/operator-kit';

export type ResourceHealth = 'Ready' | 'InProgress' | 'Failed';

export interface Workload extends KubeObject {
  spec?: { replicas?: number; [k: string]: unknown };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    updatedReplicas?: number;
    desiredNumberScheduled?: number;
    numberReady?: number;
    updatedNumberScheduled?: number;
    succeeded?: number;
    conditions?: { type: string; status: string }[];
  };
}

const observed = (w: Workload) => (w.status?.observedGeneration ?? 0) >= (w.metadata.generation ?? 0);
const hasCondition = (w: Workload, type: string) =>
  w.status?.conditions?.some((c) => c.type === type && c.status === 'True');

/** Readiness of one workload of kind Deployment, DaemonSet, StatefulSet or Job. */
export function workloadHealth(kind: string, w: Workload): ResourceHealth {
  const s = w.status ?? {};
  switch (kind) {
    case 'Deployment': {
      const want = w.spec?.replicas ?? 1;
      if (hasCondition(w, 'ReplicaFailure')) return 'Failed';
      return observed(w) && (s.updatedReplicas ?? 0) >= want && (s.availableReplicas ?? 0) >= want
        ? 'Ready'
        : 'InProgress';
    }
    case 'StatefulSet': {
      const want = w.spec?.replicas ?? 1;
      return observed(w) && (s.readyReplicas ?? 0) >= want ? 'Ready' : 'InProgress';
    }
    case 'DaemonSet': {
      const want = s.desiredNumberScheduled ?? 0;
      return observed(w) && (s.numberReady ?? 0) >= want && (s.updatedNumberScheduled ?? 0) >= want
        ? 'Ready'
        : 'InProgress';
    }
    case 'Job':
      if (hasCondition(w, 'Failed')) return 'Failed';
      return hasCondition(w, 'Complete') || (s.succeeded ?? 0) > 0 ? 'Ready' : 'InProgress';
    default:
      return 'InProgress';
  }
}

export interface ResourceEntry {
  name: string;
  kind: string;
  group: string;
  status: ResourceHealth;
}

/** The aggregate: Ready when every workload is, Failed when any failed, otherwise InProgress. */
export function aggregateHealth(resources: ResourceEntry[]): ResourceHealth {
  if (resources.some((r) => r.status === 'Failed')) return 'Failed';
  return resources.every((r) => r.status === 'Ready') ? 'Ready' : 'InProgress';
}

/** Label selector (matchLabels + matchExpressions) as a predicate on labels. */
export function selectorMatches(
  selector: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  },
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in l;
    const value = l[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !e.values?.includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && e.values?.includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}
