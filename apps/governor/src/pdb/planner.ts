/**
 * pdb-reaper's decisions, pure: PDBs, pods and a clock in; the PDBs to delete (and the persistence marks
 * to write) out.
 *
 * Fixes over upstream: overlap is computed per pod with full selector semantics and only the younger
 * PDB of an overlapping pair is deleted (upstream deleted every PDB of the namespace, and failed the run
 * on matchExpressions); blocking reasons must persist for --blocking-for-minutes across runs
 * (keikoproj/governor#52); candidates are de-duplicated (one action per PDB).
 */
import type { PdbReaperConfig } from '../config.js';
import {
  conditionOf,
  keyOf,
  minutesSince,
  PDB_REAPABLE_SINCE_ANNOTATION,
  type Pod,
  type PodDisruptionBudget,
} from '../kube.js';
import { selectorMatches } from './selector.js';

/** Upstream's event reasons. */
export type PdbReason =
  | 'MultiplePodDisruptionBudgets'
  | 'BlockingPodDisruptionBudget'
  | 'BlockingPodDisruptionBudgetWithCrashLoop'
  | 'BlockingPodDisruptionBudgetWithNotReadyState';

export interface PdbCandidate {
  pdb: string;
  namespace: string;
  name: string;
  uid: string;
  reason: PdbReason;
  action: 'delete' | 'mark' | 'unmark';
  detail: string;
}

export interface PdbObservation {
  now: Date;
  pdbs: PodDisruptionBudget[];
  pods: Pod[];
}

export interface PdbPlan {
  /** Deletions, and the `reapable-since` marks to set or clear. */
  actions: PdbCandidate[];
  /** Blocking PDBs waiting for --blocking-for-minutes to pass. */
  waiting: { pdb: string; reason: PdbReason; since: string }[];
}

/** An int-or-percent against a total; percentages round up, as the disruption controller does. */
export function resolveIntOrPercent(value: number | string, total: number): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value.trim());
  if (m) return Math.ceil((Number(m[1]) * total) / 100);
  const n = Number(value);
  return Number.isFinite(n) ? n : Number.NaN;
}

function crashLooping(pod: Pod, minRestarts: number): boolean {
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  return statuses.some(
    (s) => s.state?.waiting?.reason === 'CrashLoopBackOff' && (s.restartCount ?? 0) >= minRestarts,
  );
}

function notReadyFor(pod: Pod, now: Date, seconds: number): boolean {
  const c = conditionOf(pod.status?.conditions, 'ContainersReady');
  return c?.status === 'False' && minutesSince(now, c.lastTransitionTime) * 60 >= seconds;
}

const someOrAll = (pods: Pod[], all: boolean, test: (p: Pod) => boolean) =>
  pods.length > 0 && (all ? pods.every(test) : pods.some(test));

export function planPdbReaping(obs: PdbObservation, config: PdbReaperConfig): PdbPlan {
  const { now } = obs;
  const excluded = new Set(config.excludedNamespaces.map((n) => n.toLowerCase()));
  const pdbs = obs.pdbs
    .filter((p) => !excluded.has((p.metadata.namespace ?? '').toLowerCase()))
    .sort(
      (a, b) =>
        (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
        a.metadata.name.localeCompare(b.metadata.name),
    );
  const podsByNamespace = new Map<string, Pod[]>();
  for (const p of obs.pods) {
    const ns = p.metadata.namespace ?? '';
    const list = podsByNamespace.get(ns) ?? [];
    if (list.length === 0) podsByNamespace.set(ns, list);
    list.push(p);
  }
  const actions: PdbCandidate[] = [];
  const waiting: PdbPlan['waiting'] = [];
  const keptPodsByNamespace = new Map<string, Map<string, string>>(); // pod key -> PDB that keeps it

  for (const pdb of pdbs) {
    const ns = pdb.metadata.namespace ?? '';
    const key = keyOf(pdb.metadata);
    const base = { pdb: key, namespace: ns, name: pdb.metadata.name, uid: pdb.metadata.uid ?? '' };
    const pods = (podsByNamespace.get(ns) ?? []).filter(
      (p) => !p.metadata.deletionTimestamp && selectorMatches(pdb.spec?.selector, p.metadata.labels),
    );

    if (config.reapMultiple) {
      const kept = keptPodsByNamespace.get(ns) ?? new Map<string, string>();
      keptPodsByNamespace.set(ns, kept);
      const shared = pods.find((p) => kept.has(keyOf(p.metadata)));
      if (shared) {
        actions.push({
          ...base,
          reason: 'MultiplePodDisruptionBudgets',
          action: 'delete',
          detail: `pod ${keyOf(shared.metadata)} is also selected by ${kept.get(keyOf(shared.metadata))}`,
        });
        continue;
      }
      for (const p of pods) kept.set(keyOf(p.metadata), key);
    }

    const blocking = (pdb.status?.disruptionsAllowed ?? 0) === 0 && (pdb.status?.expectedPods ?? 0) > 0;
    let reason: PdbReason | undefined;
    let detail = '';
    if (blocking) {
      const expected = pdb.status?.expectedPods ?? 0;
      const spec = pdb.spec ?? {};
      if (config.reapMisconfigured) {
        if (spec.maxUnavailable !== undefined && resolveIntOrPercent(spec.maxUnavailable, expected) <= 0) {
          reason = 'BlockingPodDisruptionBudget';
          detail = `maxUnavailable ${spec.maxUnavailable} allows no disruption of ${expected} pod(s)`;
        } else if (
          spec.minAvailable !== undefined &&
          resolveIntOrPercent(spec.minAvailable, expected) >= expected
        ) {
          reason = 'BlockingPodDisruptionBudget';
          detail = `minAvailable ${spec.minAvailable} of ${expected} pod(s) allows no disruption`;
        }
      }
      if (
        !reason &&
        config.reapCrashloop &&
        someOrAll(pods, config.allCrashloop, (p) => crashLooping(p, config.crashloopRestartCount))
      ) {
        reason = 'BlockingPodDisruptionBudgetWithCrashLoop';
        detail = `${config.allCrashloop ? 'all' : 'some'} pods in CrashLoopBackOff (≥${config.crashloopRestartCount} restarts)`;
      }
      if (
        !reason &&
        config.reapNotReady &&
        someOrAll(pods, config.allNotReady, (p) => notReadyFor(p, now, config.notReadyThresholdSeconds))
      ) {
        reason = 'BlockingPodDisruptionBudgetWithNotReadyState';
        detail = `${config.allNotReady ? 'all' : 'some'} pods not ContainersReady for ${config.notReadyThresholdSeconds} s`;
      }
    }
    const mark = pdb.metadata.annotations?.[PDB_REAPABLE_SINCE_ANNOTATION];
    if (!reason) {
      if (mark)
        actions.push({
          ...base,
          reason: 'BlockingPodDisruptionBudget',
          action: 'unmark',
          detail: 'no longer reapable',
        });
      continue;
    }
    const since = mark && !Number.isNaN(Date.parse(mark)) ? mark : undefined;
    if (config.blockingForMinutes > 0) {
      if (!since) {
        actions.push({ ...base, reason, action: 'mark', detail });
        waiting.push({ pdb: key, reason, since: now.toISOString() });
        continue;
      }
      if (minutesSince(now, since) < config.blockingForMinutes) {
        waiting.push({ pdb: key, reason, since });
        continue;
      }
    }
    actions.push({ ...base, reason, action: 'delete', detail });
  }
  return { actions, waiting };
}
