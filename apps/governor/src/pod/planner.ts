/**
 * pod-reaper's decisions, pure: pods, namespaces, the names of existing nodes and a clock in; the pods
 * to force-delete and why out.
 *
 * Fixes over upstream: candidates are keyed by namespace/name (same-named pods in two namespaces no
 * longer collide); the stuck time is measured from deletionTimestamp, which already includes the grace
 * period (upstream subtracted the grace twice); one Succeeded pod without terminated statuses no longer
 * ends the Completed scan; evicted pods honour the namespace opt-outs and the Failed threshold; Failed
 * pods have their own opt-out key (the Completed key is still honoured for them).
 */
import type { PodReaperConfig } from '../config.js';
import {
  type ContainerStatus,
  DISABLE_COMPLETED_POD_REAP,
  DISABLE_FAILED_POD_REAP,
  DISABLE_POD_REAPER,
  DISABLE_STUCK_POD_REAP,
  keyOf,
  minutesSince,
  type Namespace,
  type Pod,
} from '../kube.js';

export type PodReason = 'StuckTerminating' | 'Completed' | 'Failed' | 'Evicted';

export interface PodCandidate {
  /** namespace/name */
  pod: string;
  namespace: string;
  name: string;
  /** The delete is made with this UID as a precondition: a new pod of the same name is never hit. */
  uid: string;
  reason: PodReason;
  action: 'force-delete' | 'remove-finalizers-and-force-delete';
  detail: string;
}

export interface PodSkip {
  pod: string;
  reason: PodReason;
  why: string;
}

export interface PodObservation {
  now: Date;
  pods: Pod[];
  namespaces: Namespace[];
  /** Names of the Nodes that exist. */
  nodeNames: ReadonlySet<string>;
}

export interface PodPlan {
  actions: PodCandidate[];
  skipped: PodSkip[];
}

const optedOut = (ns: Namespace | undefined, keys: string[]) =>
  keys.find((k) => ns?.metadata.annotations?.[k] === 'true');

function latestFinish(statuses: ContainerStatus[] | undefined): string | undefined {
  let latest: string | undefined;
  for (const s of statuses ?? []) {
    const at = s.state?.terminated?.finishedAt;
    if (at && (!latest || Date.parse(at) > Date.parse(latest))) latest = at;
  }
  return latest;
}

export function planPodReaping(obs: PodObservation, config: PodReaperConfig): PodPlan {
  const { now } = obs;
  const namespaces = new Map(obs.namespaces.map((n) => [n.metadata.name, n]));
  const actions: PodCandidate[] = [];
  const skipped: PodSkip[] = [];
  for (const pod of obs.pods) {
    const key = keyOf(pod.metadata);
    const ns = namespaces.get(pod.metadata.namespace ?? '');
    const uid = pod.metadata.uid ?? '';
    const base = { pod: key, namespace: pod.metadata.namespace ?? '', name: pod.metadata.name, uid };
    const phase = pod.status?.phase;

    if (pod.metadata.deletionTimestamp) {
      const reason: PodReason = 'StuckTerminating';
      const minutes = minutesSince(now, pod.metadata.deletionTimestamp);
      if (!(minutes > config.reapAfter)) continue;
      const out = optedOut(ns, [DISABLE_POD_REAPER, DISABLE_STUCK_POD_REAP]);
      if (out) {
        skipped.push({ pod: key, reason, why: `namespace annotation ${out}=true` });
        continue;
      }
      const nodeName = pod.spec?.nodeName;
      const nodeGone = Boolean(nodeName) && !obs.nodeNames.has(nodeName!);
      const running = (pod.status?.containerStatuses ?? []).some((s) => s.state?.running);
      if (config.softReap && running && !nodeGone) {
        skipped.push({ pod: key, reason, why: 'soft-reap: a container is still running' });
        continue;
      }
      const stripFinalizers =
        nodeGone && config.removeFinalizersOnGoneNode && (pod.metadata.finalizers?.length ?? 0) > 0;
      actions.push({
        ...base,
        reason,
        action: stripFinalizers ? 'remove-finalizers-and-force-delete' : 'force-delete',
        detail: `terminating for ${Math.floor(minutes)} min past its deletionTimestamp${nodeGone ? `; node ${nodeName} is gone` : ''}`,
      });
      continue;
    }

    if (phase === 'Succeeded' && config.reapCompleted) {
      const reason: PodReason = 'Completed';
      const finished = latestFinish(pod.status?.containerStatuses);
      if (!finished) continue; // no terminated status yet: look again next run (and keep scanning)
      const minutes = minutesSince(now, finished);
      if (!(minutes > config.reapCompletedAfter)) continue;
      const out = optedOut(ns, [DISABLE_POD_REAPER, DISABLE_COMPLETED_POD_REAP]);
      if (out) {
        skipped.push({ pod: key, reason, why: `namespace annotation ${out}=true` });
        continue;
      }
      actions.push({
        ...base,
        reason,
        action: 'force-delete',
        detail: `completed ${Math.floor(minutes)} min ago`,
      });
      continue;
    }

    if (phase === 'Failed' && config.reapFailed) {
      const finished = latestFinish(pod.status?.containerStatuses);
      const evicted = !finished && (pod.status?.containerStatuses ?? []).length === 0;
      const reason: PodReason = evicted ? 'Evicted' : 'Failed';
      // Evicted pods have no container statuses: measure from their last condition change, else start.
      const lastCondition = (pod.status?.conditions ?? [])
        .map((c) => c.lastTransitionTime)
        .filter((t): t is string => Boolean(t))
        .sort()
        .pop();
      const since = finished ?? lastCondition ?? pod.status?.startTime ?? pod.metadata.creationTimestamp;
      const minutes = minutesSince(now, since);
      if (!(minutes > config.reapFailedAfter)) continue;
      const out = optedOut(ns, [DISABLE_POD_REAPER, DISABLE_FAILED_POD_REAP, DISABLE_COMPLETED_POD_REAP]);
      if (out) {
        skipped.push({ pod: key, reason, why: `namespace annotation ${out}=true` });
        continue;
      }
      actions.push({
        ...base,
        reason,
        action: 'force-delete',
        detail: `failed ${Math.floor(minutes)} min ago`,
      });
    }
  }
  return { actions, skipped };
}
