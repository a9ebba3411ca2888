/**
 * The market decision for one group: spot or on-demand, from prices, capacity back-offs, the opt-in
 * mode and the remembered state. Pure: the clock and every price are inputs.
 *
 * Rules, in order:
 * 1. `no-spot` -> on-demand, at once.
 * 2. Every spot pool of the group backed off for capacity -> on-demand, at once (availability first;
 *    the back-off itself keeps this from flapping).
 * 3. Prices: for each instance type with a known on-demand price, its spot price is the *highest* over
 *    the group's zones that are not backed off, and an unknown spot price counts as the on-demand price
 *    (never as free). The group's ratio is the best type's spot/on-demand. No on-demand price for any
 *    type -> the ratio is unknown and the target is on-demand.
 * 4. Hysteresis: on-demand moves to spot only at ratio <= enterSpotRatio; spot moves back only at
 *    ratio >= exitSpotRatio; in between the group stays where it is.
 * 5. Minimum dwell: a price-driven move waits until the group has been in its market for minDwellMs.
 */
import { type CapacityBackoff, isBackedOff } from './backoff.js';
import type { Market, MarketState, Mode, Policy } from './types.js';

export interface DecisionInput {
  now: number;
  mode: Mode;
  policy: Policy;
  instanceTypes: readonly string[];
  zones: readonly string[];
  /** On-demand $/h by instance type; absent = unknown. */
  onDemandPrices: ReadonlyMap<string, number>;
  /** Latest spot $/h by `type@zone`; absent = unknown. */
  spotPrices: ReadonlyMap<string, number>;
  backoffs: readonly CapacityBackoff[];
  /** The remembered market; undefined for a group never decided (no dwell applies). */
  current: MarketState | undefined;
}

export type DecisionReason =
  | 'NoSpotMode'
  | 'CapacityBackoff'
  | 'PriceUnknown'
  | 'SpotCheap'
  | 'SpotExpensive'
  | 'WithinHysteresis'
  | 'MinimumDwell';

export interface Decision {
  market: Market;
  /** The market differs from `current.market` (or there was none). */
  changed: boolean;
  reason: DecisionReason;
  message: string;
  /** Best spot/on-demand ratio, when known. */
  ratio?: number;
  /** Instance type the ratio came from. */
  instanceType?: string;
  spotPrice?: number;
  onDemandPrice?: number;
}

interface TypeQuote {
  instanceType: string;
  onDemand: number;
  spot: number;
  ratio: number;
}

/** Per type: the highest spot price across usable zones, unknown counting as on-demand. */
export function quoteTypes(input: Omit<DecisionInput, 'mode' | 'policy' | 'current'>): {
  quotes: TypeQuote[];
  allBackedOff: boolean;
} {
  const quotes: TypeQuote[] = [];
  let usablePools = 0;
  for (const instanceType of input.instanceTypes) {
    const zones = input.zones.filter((z) => !isBackedOff(input.backoffs, instanceType, z, input.now));
    usablePools += zones.length;
    const onDemand = input.onDemandPrices.get(instanceType);
    if (zones.length === 0 || onDemand === undefined || !(onDemand > 0)) continue;
    let spot = 0;
    for (const z of zones) spot = Math.max(spot, input.spotPrices.get(`${instanceType}@${z}`) ?? onDemand);
    quotes.push({ instanceType, onDemand, spot, ratio: spot / onDemand });
  }
  return { quotes: quotes.sort((a, b) => a.ratio - b.ratio), allBackedOff: usablePools === 0 };
}

export function decide(input: DecisionInput): Decision {
  const current = input.current;
  const result = (
    market: Market,
    reason: DecisionReason,
    message: string,
    extra: Partial<Decision> = {},
  ) => ({
    market,
    changed: current?.market !== market,
    reason,
    message,
    ...extra,
  });
  if (input.mode === 'no-spot') return result('on-demand', 'NoSpotMode', 'the group is tagged no-spot');
  const { quotes, allBackedOff } = quoteTypes(input);
  if (allBackedOff && input.instanceTypes.length > 0 && input.zones.length > 0) {
    return result(
      'on-demand',
      'CapacityBackoff',
      'every spot pool of the group is backing off after capacity failures',
    );
  }
  const best = quotes[0];
  let target: Market;
  let reason: DecisionReason;
  let message: string;
  let extra: Partial<Decision> = {};
  if (!best) {
    target = 'on-demand';
    reason = 'PriceUnknown';
    message = `no on-demand price known for ${input.instanceTypes.join(', ') || 'the group'}`;
  } else {
    extra = {
      ratio: best.ratio,
      instanceType: best.instanceType,
      spotPrice: best.spot,
      onDemandPrice: best.onDemand,
    };
    const ratio = best.ratio.toFixed(3);
    const onSpot = current?.market === 'spot';
    if (best.ratio <= input.policy.enterSpotRatio) {
      target = 'spot';
      reason = 'SpotCheap';
      message = `spot/on-demand ${ratio} <= ${input.policy.enterSpotRatio} (${best.instanceType})`;
    } else if (best.ratio >= input.policy.exitSpotRatio) {
      target = 'on-demand';
      reason = 'SpotExpensive';
      message = `spot/on-demand ${ratio} >= ${input.policy.exitSpotRatio} (${best.instanceType})`;
    } else {
      target = onSpot ? 'spot' : 'on-demand';
      reason = 'WithinHysteresis';
      message = `spot/on-demand ${ratio} between ${input.policy.enterSpotRatio} and ${input.policy.exitSpotRatio}: staying ${target}`;
    }
  }
  if (current && target !== current.market) {
    const dwelt = input.now - current.since;
    if (dwelt < input.policy.minDwellMs) {
      const waitS = Math.ceil((input.policy.minDwellMs - dwelt) / 1000);
      return result(
        current.market,
        'MinimumDwell',
        `${message}; staying ${current.market} for another ${waitS}s (minimum dwell)`,
        extra,
      );
    }
  }
  return result(target, reason, message, extra);
}
