/** Table tests of the market decision: prices (unknown = on-demand), hysteresis, dwell, capacity back-off. */
import { describe, expect, test } from '@jest/globals';
import type { CapacityBackoff } from '../src/decision/backoff.js';
import { type DecisionInput, decide } from '../src/decision/decide.js';
import type { Policy } from '../src/decision/types.js';

const MIN = 60_000;
const policy: Policy = {
  enterSpotRatio: 0.7,
  exitSpotRatio: 0.85,
  minDwellMs: 30 * MIN,
  maxUnavailable: 1,
  onDemandBaseCapacity: 0,
};
const T0 = Date.UTC(2026, 0, 1);

function input(over: Partial<DecisionInput> & { spot?: Record<string, number> } = {}): DecisionInput {
  const { spot, ...rest } = over;
  return {
    now: T0,
    mode: 'use-spot',
    policy,
    instanceTypes: ['m5.large'],
    zones: ['us-east-1a', 'us-east-1b'],
    onDemandPrices: new Map([['m5.large', 0.1]]),
    spotPrices: new Map(Object.entries(spot ?? { 'm5.large@us-east-1a': 0.03, 'm5.large@us-east-1b': 0.04 })),
    backoffs: [],
    current: undefined,
    ...rest,
  };
}

describe('decide', () => {
  const cases: [string, Partial<DecisionInput> & { spot?: Record<string, number> }, string, string][] = [
    ['cheap spot, never decided -> spot', {}, 'spot', 'SpotCheap'],
    ['no-spot mode -> on-demand whatever the price', { mode: 'no-spot' }, 'on-demand', 'NoSpotMode'],
    [
      'the highest zone price counts',
      { spot: { 'm5.large@us-east-1a': 0.03, 'm5.large@us-east-1b': 0.09 } },
      'on-demand',
      'SpotExpensive',
    ],
    [
      'a zone without spot data counts as on-demand, never free',
      { spot: { 'm5.large@us-east-1a': 0.01 } },
      'on-demand',
      'SpotExpensive',
    ],
    ['no spot data at all -> on-demand', { spot: {} }, 'on-demand', 'SpotExpensive'],
    ['no on-demand price -> on-demand', { onDemandPrices: new Map() }, 'on-demand', 'PriceUnknown'],
    ['no instance type known -> on-demand', { instanceTypes: [] }, 'on-demand', 'PriceUnknown'],
    [
      'between thresholds from on-demand stays on-demand',
      {
        spot: { 'm5.large@us-east-1a': 0.08, 'm5.large@us-east-1b': 0.08 },
        current: { market: 'on-demand', since: 0 },
      },
      'on-demand',
      'WithinHysteresis',
    ],
    [
      'between thresholds from spot stays spot',
      {
        spot: { 'm5.large@us-east-1a': 0.08, 'm5.large@us-east-1b': 0.08 },
        current: { market: 'spot', since: 0 },
      },
      'spot',
      'WithinHysteresis',
    ],
    [
      'above exit from spot, dwell passed -> on-demand',
      {
        spot: { 'm5.large@us-east-1a': 0.09, 'm5.large@us-east-1b': 0.09 },
        current: { market: 'spot', since: T0 - 31 * MIN },
      },
      'on-demand',
      'SpotExpensive',
    ],
    [
      'above exit from spot, dwell not passed -> stays spot',
      {
        spot: { 'm5.large@us-east-1a': 0.09, 'm5.large@us-east-1b': 0.09 },
        current: { market: 'spot', since: T0 - 5 * MIN },
      },
      'spot',
      'MinimumDwell',
    ],
    [
      'cheap but entered on-demand 5 min ago -> stays on-demand',
      { current: { market: 'on-demand', since: T0 - 5 * MIN } },
      'on-demand',
      'MinimumDwell',
    ],
    [
      'no-spot ignores the dwell',
      { mode: 'no-spot', current: { market: 'spot', since: T0 - MIN } },
      'on-demand',
      'NoSpotMode',
    ],
    [
      'the cheapest of several types decides',
      {
        instanceTypes: ['m5.large', 'm5a.large'],
        onDemandPrices: new Map([
          ['m5.large', 0.1],
          ['m5a.large', 0.09],
        ]),
        spot: {
          'm5.large@us-east-1a': 0.095,
          'm5.large@us-east-1b': 0.095,
          'm5a.large@us-east-1a': 0.02,
          'm5a.large@us-east-1b': 0.03,
        },
      },
      'spot',
      'SpotCheap',
    ],
    [
      'every pool backed off -> on-demand at once, dwell or not',
      {
        current: { market: 'spot', since: T0 - MIN },
        backoffs: [
          { instanceType: '', zone: 'us-east-1a', until: T0 + MIN, lastFailure: T0, failures: 1 },
          { instanceType: 'm5.large', zone: 'us-east-1b', until: T0 + MIN, lastFailure: T0, failures: 1 },
        ],
      },
      'on-demand',
      'CapacityBackoff',
    ],
    [
      'a backed-off zone is left out of the price',
      {
        spot: { 'm5.large@us-east-1a': 0.03, 'm5.large@us-east-1b': 0.09 },
        backoffs: [
          { instanceType: 'm5.large', zone: 'us-east-1b', until: T0 + MIN, lastFailure: T0, failures: 1 },
        ],
      },
      'spot',
      'SpotCheap',
    ],
    [
      'an expired back-off no longer counts',
      {
        current: { market: 'spot', since: 0 },
        backoffs: [{ instanceType: '', zone: '', until: T0 - 1, lastFailure: T0 - MIN, failures: 1 }],
      },
      'spot',
      'SpotCheap',
    ],
  ];
  test.each(cases)('%s', (_name, over, market, reason) => {
    const d = decide(input(over));
    expect(d.market).toBe(market);
    expect(d.reason).toBe(reason);
  });

  test('ratio, prices and changed are reported', () => {
    const d = decide(input({ current: { market: 'on-demand', since: 0 } }));
    expect(d.ratio).toBeCloseTo(0.4, 10);
    expect(d).toMatchObject({
      market: 'spot',
      changed: true,
      spotPrice: 0.04,
      onDemandPrice: 0.1,
      instanceType: 'm5.large',
    });
    expect(decide(input({ current: { market: 'spot', since: 0 } })).changed).toBe(false);
  });
});

describe('hysteresis over price histories', () => {
  /** Feeds a price series minute by minute, carrying the state as the controller does (through tags). */
  function simulate(
    series: (minute: number) => number,
    minutes: number,
    p: Policy = policy,
    backoffsAt?: (minute: number) => CapacityBackoff[],
  ) {
    let current: DecisionInput['current'];
    const switches: number[] = [];
    for (let m = 0; m < minutes; m++) {
      const now = T0 + m * MIN;
      const price = series(m);
      const d = decide(
        input({
          now,
          policy: p,
          current,
          spot: { 'm5.large@us-east-1a': price, 'm5.large@us-east-1b': price },
          backoffs: backoffsAt?.(m) ?? [],
        }),
      );
      if (d.changed) {
        if (current) switches.push(m);
        current = { market: d.market, since: now };
      }
    }
    return switches;
  }
  const atMostOnePerDwell = (switches: number[], dwellMin: number) => {
    for (let i = 1; i < switches.length; i++)
      expect((switches[i] as number) - (switches[i - 1] as number)).toBeGreaterThanOrEqual(dwellMin);
  };

  test('a price oscillating around one threshold every minute never switches (two thresholds)', () => {
    // ratio alternates 0.69 / 0.71 around enter=0.7: starts spot (0.69) and never reaches exit=0.85.
    expect(simulate((m) => (m % 2 === 0 ? 0.069 : 0.071), 24 * 60)).toEqual([]);
  });

  test('a price swinging across both thresholds every minute switches at most once per dwell time', () => {
    const switches = simulate((m) => (m % 2 === 0 ? 0.05 : 0.095), 6 * 60);
    expect(switches.length).toBeGreaterThan(0);
    expect(switches.length).toBeLessThanOrEqual(6 * 2);
    atMostOnePerDwell(switches, 30);
  });

  test('random walk around the band: at most one switch per dwell time', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const prices = Array.from({ length: 12 * 60 }, () => 0.06 + rand() * 0.035);
    const switches = simulate((m) => prices[m] as number, prices.length);
    atMostOnePerDwell(switches, 30);
  });

  test('without dwell the two thresholds alone still stop flapping inside the band', () => {
    const switches = simulate((m) => 0.075 + 0.005 * Math.sin(m), 600, { ...policy, minDwellMs: 0 });
    expect(switches).toEqual([]);
  });

  test('capacity back-off moves to on-demand at once and back to spot only after it expires and the dwell passes', () => {
    // Cheap spot throughout; every pool backs off from minute 10 to minute 40.
    const backoff = (m: number): CapacityBackoff[] =>
      m >= 10
        ? [{ instanceType: '', zone: '', until: T0 + 40 * MIN, lastFailure: T0 + 10 * MIN, failures: 1 }]
        : [];
    const switches = simulate(() => 0.03, 120, policy, backoff);
    // minute 10: -> on-demand (capacity, ignores the dwell since minute 0); back to spot at 40 (dwell 30 since 10).
    expect(switches).toEqual([10, 40]);
  });
});
