/**
 * node-reaper's building blocks, pure: how a node's instance, region, role and readiness are read, how
 * flapping is counted in a window, when an ASG is stable, how percentage caps round, and when the drain
 * back-off ends. planner.ts combines them.
 */
import type { TaintSpec } from '../config.js';
import {
  AGE_UNREAPABLE_ANNOTATION,
  type CoreEvent,
  conditionOf,
  minutesSince,
  type Node,
  type Pod,
} from '../kube.js';
import type { AsgInfo } from './planner.js';

const CONTROL_PLANE_LABELS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];
const DISRUPTIVE_PROCESSES = new Set(['Launch', 'Terminate', 'ReplaceUnhealthy', 'HealthCheck']);

/** `aws:///us-west-2a/i-0abc` -> `i-0abc`; undefined for other providers. */
export function instanceIdOf(node: Node): string | undefined {
  const id = node.spec?.providerID?.match(/^aws:\/\/\/[^/]*\/(i-[0-9a-z]+)$/)?.[1];
  return id;
}

/** Region from the topology label, else from the providerID's zone (local zones such as us-west-2-lax-1a too). */
export function regionOf(node: Node): string | undefined {
  const label = node.metadata.labels?.['topology.kubernetes.io/region'];
  if (label) return label;
  const zone = node.spec?.providerID?.match(/^aws:\/\/\/([^/]+)\//)?.[1];
  return zone?.match(/^([a-z]{2}(?:-gov)?-[a-z]+-\d+)/)?.[1];
}

export function isControlPlane(node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  return CONTROL_PLANE_LABELS.some((l) => l in labels) || labels['kubernetes.io/role'] === 'master';
}

export const readyStatus = (node: Node): string | undefined =>
  conditionOf(node.status?.conditions, 'Ready')?.status;

export function matchesTaint(node: Node, spec: TaintSpec): boolean {
  return (node.spec?.taints ?? []).some(
    (t) =>
      t.key === spec.key &&
      (spec.value === undefined || (t.value ?? '') === spec.value) &&
      (spec.effect === undefined || t.effect === spec.effect),
  );
}

/** NodeReady occurrences for `node` inside the window, from event counts and timestamps. */
export function readyTransitions(
  events: readonly CoreEvent[],
  node: string,
  now: Date,
  windowMinutes: number,
) {
  let total = 0;
  for (const e of events) {
    if (e.reason !== 'NodeReady' || e.involvedObject?.name !== node) continue;
    const last = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
    if (!(minutesSince(now, last) <= windowMinutes)) continue;
    const first = e.firstTimestamp ?? e.eventTime;
    const count = e.series?.count ?? e.count ?? 1;
    // Only the occurrences inside the window count; an older first occurrence means we cannot tell how
    // many of `count` were recent, so count the one we know about.
    total += first !== undefined && minutesSince(now, first) <= windowMinutes ? count : 1;
  }
  return total;
}

export function podIsReady(pod: Pod): boolean {
  if (pod.status?.reason === 'NodeLost' || pod.metadata.deletionTimestamp) return false;
  return conditionOf(pod.status?.conditions, 'Ready')?.status === 'True';
}

/** Whether the ASG may lose an instance now; the reason when not. */
export function asgInstability(asg: AsgInfo): string | undefined {
  const suspended = asg.suspendedProcesses.filter((p) => DISRUPTIVE_PROCESSES.has(p));
  if (suspended.length > 0) return `processes suspended: ${suspended.join(',')}`;
  const healthy = asg.instances.filter(
    (i) => i.healthStatus === 'Healthy' && i.lifecycleState === 'InService',
  );
  if (healthy.length !== asg.desiredCapacity)
    return `desired ${asg.desiredCapacity} but ${healthy.length} Healthy and InService`;
  return undefined;
}

/** Percentage caps round down but never below one node: a cap that forbids all reaping is a config error. */
export const percentCap = (total: number, percent: number): number =>
  Math.max(1, Math.floor((total * percent) / 100));

/**
 * When a node whose drain failed may be tried again. Upstream's legacy value "true" and an unparseable
 * value (which blocked a node forever, keikoproj/governor#39) both mean "try now".
 */
export function drainBackoffUntil(node: Node, reconsiderMinutes: number): Date | undefined {
  const value = node.metadata.annotations?.[AGE_UNREAPABLE_ANNOTATION];
  if (!value) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return new Date(at + reconsiderMinutes * 60_000);
}
