/**
 * Which instances a rolling update replaces next. Pure: given the group's instances (whether each
 * runs the desired launch template version and the state of its Node) and `maxUnavailable`, it
 * returns the instances to cordon, drain and terminate now, and why it waits otherwise.
 *
 * Invariant: instances unavailable at once (no Ready Node, cordoned, or missing below desired) never
 * exceed maxUnavailable because of this plan. An outdated instance already cordoned is a replacement
 * in progress (a previous reconcile, maybe of a killed process, started it): it is finished first.
 * An outdated instance whose Node never joined is replaced at once: it serves nothing (upstream #145).
 */

export interface ObservedInstance {
  id: string;
  /** Runs the desired launch template version. */
  current: boolean;
  /** The Node registered for the instance (by providerID), if any. */
  node?: { name: string; ready: boolean; unschedulable: boolean };
}

export interface RolloutPlan {
  outdated: string[];
  /** Instances to replace now, with their Node (undefined: no Node, terminate without drain). */
  replace: { id: string; nodeName?: string }[];
  /** Why nothing more is replaced now (undefined when the plan uses the whole budget or is done). */
  waiting?: string;
}

/** maxUnavailable as a count: an int, or a percentage of `total` rounded up; never below 1. */
export function maxUnavailableCount(value: number | string | undefined, total: number): number {
  if (value === undefined) return 1;
  if (typeof value === 'number') return Math.max(1, value);
  const m = /^(\d+)%$/.exec(value);
  if (!m) return Math.max(1, Number.parseInt(value, 10) || 1);
  return Math.max(1, Math.ceil((Number(m[1]) * total) / 100));
}

export function planRollingUpdate(input: {
  instances: readonly ObservedInstance[];
  desiredCapacity: number;
  maxUnavailable: number;
}): RolloutPlan {
  const { instances } = input;
  const outdated = instances.filter((i) => !i.current);
  if (outdated.length === 0) return { outdated: [], replace: [] };
  const available = (i: ObservedInstance) => Boolean(i.node?.ready && !i.node.unschedulable);
  const missing = Math.max(0, input.desiredCapacity - instances.length);
  const unavailable = instances.filter((i) => !available(i)).length + missing;

  const inProgress = outdated.filter((i) => i.node?.unschedulable);
  const neverJoined = outdated.filter((i) => !i.node);
  const replace: RolloutPlan['replace'] = [
    ...inProgress.map((i) => ({ id: i.id, nodeName: i.node?.name })),
    ...neverJoined.map((i) => ({ id: i.id })),
  ];
  const budget = input.maxUnavailable - unavailable;
  const candidates = outdated.filter(available).sort((a, b) => a.id.localeCompare(b.id));
  const fresh = candidates.slice(0, Math.max(0, budget));
  replace.push(...fresh.map((i) => ({ id: i.id, nodeName: i.node?.name })));
  const waiting =
    fresh.length < candidates.length
      ? `${unavailable} of ${instances.length} instances unavailable (maxUnavailable ${input.maxUnavailable})`
      : undefined;
  return { outdated: outdated.map((i) => i.id).sort(), replace, ...(waiting ? { waiting } : {}) };
}
