/**
 * The vocabulary of minion-manager's decisions, shared by the pure planners in this folder.
 *
 * A group is steered between two markets. Its opt-in `mode` says which market it may use at all;
 * its `policy` says how eagerly it moves between them.
 */

/** Upstream's opt-in tag values (`k8s-minion-manager`); anything else reads as `no-spot`. */
export type Mode = 'use-spot' | 'no-spot';

/** Where the group's capacity above its on-demand base comes from. */
export type Market = 'spot' | 'on-demand';

export interface Policy {
  /** Move on-demand -> spot when spot/on-demand price ratio is at or below this (e.g. 0.7). */
  enterSpotRatio: number;
  /** Move spot -> on-demand when the ratio is at or above this (e.g. 0.85); > enterSpotRatio. */
  exitSpotRatio: number;
  /** Minimum time in a market before a price-driven move out of it. Capacity and `no-spot` ignore it. */
  minDwellMs: number;
  /** Instances being replaced (or unavailable) at once in the group. */
  maxUnavailable: number;
  /** `OnDemandBaseCapacity` of the MixedInstancesPolicy: on-demand instances kept even on spot. */
  onDemandBaseCapacity: number;
}

/** The remembered decision (persisted in the group's tags). */
export interface MarketState {
  market: Market;
  /** When the group entered this market (ms since the epoch). */
  since: number;
}

/** A spot capacity pool; an empty `instanceType` or `zone` means "any". */
export interface Pool {
  instanceType: string;
  zone: string;
}

export const poolKey = (p: Pool): string => `${p.instanceType}@${p.zone}`;

export function parsePoolKey(key: string): Pool | undefined {
  const at = key.lastIndexOf('@');
  if (at < 0) return undefined;
  return { instanceType: key.slice(0, at), zone: key.slice(at + 1) };
}
