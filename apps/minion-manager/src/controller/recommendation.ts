/**
 * The `SpotRecommendationGiven` Event instance-manager consumes (upstream's contract: core/v1 Event,
 * reason `SpotRecommendationGiven`, involvedObject kind `SpotPriceInfo` named after the group, a JSON
 * message `{apiVersion, spotPrice, useSpot}`; the newest wins).
 *
 * Differences, all additive: `useSpot` is the real decision (upstream said true for every `use-spot`
 * group); `recommendation` names the market; `instanceGroup` is `<namespace>/<name>` when the group
 * carries instance-manager's tags. One Event object per group (a stable name) is updated in place,
 * count and lastTimestamp bumped, instead of a new object every cycle.
 */
import { createHash } from 'node:crypto';
import { isNotFound, type KubeClient, type KubeObject, type Resource } from '@keiko/operator-kit';
import type { Tags } from '../asg/tags.js';
import type { Decision } from '../decision/decide.js';

export const CORE_EVENTS: Resource = {
  group: '',
  version: 'v1',
  plural: 'events',
  kind: 'Event',
  namespaced: true,
};
export const RECOMMENDATION_REASON = 'SpotRecommendationGiven';

export interface SpotRecommendation {
  apiVersion: 'v1alpha1';
  /** The bid (the on-demand price, as upstream) when spot is recommended; '' otherwise. */
  spotPrice: string;
  useSpot: boolean;
  recommendation: 'spot' | 'on-demand';
  instanceGroup?: string;
}

interface CoreEvent extends KubeObject {
  message?: string;
  count?: number;
  lastTimestamp?: string;
}

export function recommendationOf(decision: Decision, tags: Tags): SpotRecommendation {
  const useSpot = decision.market === 'spot';
  const igName = tags['instancegroups.keikoproj.io/InstanceGroup'];
  const igNamespace = tags['instancegroups.keikoproj.io/Namespace'];
  return {
    apiVersion: 'v1alpha1',
    spotPrice: useSpot && decision.onDemandPrice !== undefined ? String(decision.onDemandPrice) : '',
    useSpot,
    recommendation: decision.market,
    ...(igName ? { instanceGroup: igNamespace ? `${igNamespace}/${igName}` : igName } : {}),
  };
}

export const recommendationEventName = (asg: string) =>
  `spot-instance-update.${createHash('sha256').update(asg).digest('hex').slice(0, 16)}`;

/**
 * Creates or refreshes the group's recommendation Event. Writes only when the message changed or the
 * last write is older than `refreshMs` (consumers ignore old recommendations).
 */
export async function publishRecommendation(
  client: KubeClient,
  namespace: string,
  asg: string,
  rec: SpotRecommendation,
  refreshMs: number,
  now = new Date(),
): Promise<boolean> {
  const name = recommendationEventName(asg);
  const message = JSON.stringify(rec);
  const existing = await client.getOrUndefined<CoreEvent>(CORE_EVENTS, name, namespace);
  const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (existing) {
    const last = Date.parse(existing.lastTimestamp ?? '');
    if (existing.message === message && Number.isFinite(last) && now.getTime() - last < refreshMs)
      return false;
    try {
      await client.patch(CORE_EVENTS, name, namespace, {
        message,
        count: (existing.count ?? 1) + 1,
        lastTimestamp: stamp,
      });
      return true;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  await client.create<CoreEvent>(CORE_EVENTS, {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace },
    involvedObject: { kind: 'SpotPriceInfo', name: asg, namespace },
    reason: RECOMMENDATION_REASON,
    message,
    type: 'Normal',
    source: { component: 'minion-manager' },
    reportingComponent: 'minion-manager',
    count: 1,
    firstTimestamp: stamp,
    lastTimestamp: stamp,
  } as CoreEvent);
  return true;
}
