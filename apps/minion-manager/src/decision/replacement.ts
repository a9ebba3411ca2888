/**
 * Which instances to replace next so a group's running capacity matches its market. Pure.
 *
 * - On spot, on-demand instances above `onDemandBaseCapacity` are mismatched; on on-demand, every spot
 *   instance is.
 * - At most `policy.maxUnavailable` instances are down at once, counting those already being replaced,
 *   in-service instances whose Node is not Ready, and missing capacity (in service < desired). A group
 *   that is not whole again after a termination therefore gets no new replacement until it is.
 * - Instances already cordoned are taken first: a restarted controller finishes what it began.
 */
import type { Market, Policy } from './types.js';

export interface GroupInstance {
  instanceId: string;
  lifecycle: Market;
  /** ASG lifecycle state (InService, Pending, Terminating, ...). */
  lifecycleState: string;
  launchTime?: number;
  /** The instance's Node, if one has registered. */
  node?: { name: string; ready: boolean; unschedulable: boolean };
}

export interface ReplacementInput {
  market: Market;
  policy: Pick<Policy, 'maxUnavailable' | 'onDemandBaseCapacity'>;
  desiredCapacity: number;
  instances: readonly GroupInstance[];
  /** Instances a previous cycle started replacing (from the group's tag). */
  replacing: readonly string[];
}

export interface ReplacementPlan {
  /** Instances whose lifecycle does not match the market. */
  mismatched: string[];
  /** Still-present instances being replaced: carry on draining/terminating them. */
  inFlight: string[];
  /** New instances to start replacing now. */
  start: string[];
  /** Down now (being replaced, not Ready, or missing). */
  unavailable: number;
  /** Entries of `replacing` that are gone and whose replacement is whole: drop them from the tag. */
  finished: string[];
}

export function mismatchedInstances(
  input: Pick<ReplacementInput, 'market' | 'policy' | 'instances'>,
): string[] {
  const live = input.instances.filter((i) => !/^Terminat/.test(i.lifecycleState));
  if (input.market === 'on-demand')
    return live.filter((i) => i.lifecycle === 'spot').map((i) => i.instanceId);
  const onDemand = live.filter((i) => i.lifecycle === 'on-demand');
  const excess = onDemand.length - input.policy.onDemandBaseCapacity;
  if (excess <= 0) return [];
  // Replace the cordoned first, then the newest on-demand ones (the oldest ones form the base).
  return [...onDemand]
    .sort((a, b) => rank(a) - rank(b) || (b.launchTime ?? 0) - (a.launchTime ?? 0))
    .slice(0, excess)
    .map((i) => i.instanceId);
}

const rank = (i: GroupInstance) => (i.node?.unschedulable ? 0 : 1);

export function planReplacement(input: ReplacementInput): ReplacementPlan {
  const present = new Set(input.instances.map((i) => i.instanceId));
  const inFlight = input.replacing.filter((id) => present.has(id));
  const gone = input.replacing.filter((id) => !present.has(id));
  const inService = input.instances.filter((i) => i.lifecycleState === 'InService');
  const notReady = inService.filter((i) => !inFlight.includes(i.instanceId) && !i.node?.ready).length;
  const missing = Math.max(0, input.desiredCapacity - inService.length);
  const unavailable = inFlight.length + notReady + Math.max(0, missing - inFlight.length);
  const whole = notReady === 0 && missing === 0;
  const finished = whole ? gone : [];
  const mismatched = mismatchedInstances(input);
  const candidates = mismatched
    .filter((id) => !inFlight.includes(id))
    .map((id) => input.instances.find((i) => i.instanceId === id) as GroupInstance)
    .filter((i) => i.lifecycleState === 'InService')
    .sort((a, b) => rank(a) - rank(b));
  // Replacements wait until the previous ones are whole again (gone entries still count as down).
  const budget = whole && gone.length === finished.length ? input.policy.maxUnavailable - unavailable : 0;
  return {
    mismatched,
    inFlight,
    start: candidates.slice(0, Math.max(0, budget)).map((i) => i.instanceId),
    unavailable,
    finished,
  };
}
