/** Table tests of the replacement planner, the tag contract and price parsing. */
import { describe, expect, test } from '@jest/globals';
import { modeOf, notTerminate, policyOf, TAG } from '../src/asg/tags.js';
import { type GroupInstance, planReplacement } from '../src/decision/replacement.js';
import type { Policy } from '../src/decision/types.js';
import { onDemandPriceOf } from '../src/pricing/on-demand.js';

const ready = (name: string) => ({ name, ready: true, unschedulable: false });
const inst = (
  id: string,
  lifecycle: 'spot' | 'on-demand',
  extra: Partial<GroupInstance> = {},
): GroupInstance => ({
  instanceId: id,
  lifecycle,
  lifecycleState: 'InService',
  node: ready(`node-${id}`),
  ...extra,
});

describe('planReplacement', () => {
  const policy = { maxUnavailable: 1, onDemandBaseCapacity: 0 };
  test('spot market: one on-demand instance at a time', () => {
    const instances = [inst('i-1', 'on-demand'), inst('i-2', 'on-demand'), inst('i-3', 'on-demand')];
    const plan = planReplacement({ market: 'spot', policy, desiredCapacity: 3, instances, replacing: [] });
    expect(plan.mismatched).toHaveLength(3);
    expect(plan.start).toHaveLength(1);
  });

  test('nothing new while one is in flight', () => {
    const instances = [
      inst('i-1', 'on-demand', { node: { name: 'n1', ready: true, unschedulable: true } }),
      inst('i-2', 'on-demand'),
    ];
    const plan = planReplacement({
      market: 'spot',
      policy,
      desiredCapacity: 2,
      instances,
      replacing: ['i-1'],
    });
    expect(plan).toMatchObject({ inFlight: ['i-1'], start: [], unavailable: 1 });
  });

  test('terminated one is finished only when the group is whole and Ready again', () => {
    const replacement = inst('i-9', 'spot', { node: undefined });
    const waiting = planReplacement({
      market: 'spot',
      policy,
      desiredCapacity: 2,
      instances: [inst('i-2', 'on-demand'), replacement],
      replacing: ['i-1'],
    });
    expect(waiting).toMatchObject({ finished: [], start: [], inFlight: [] });
    const whole = planReplacement({
      market: 'spot',
      policy,
      desiredCapacity: 2,
      instances: [inst('i-2', 'on-demand'), inst('i-9', 'spot')],
      replacing: ['i-1'],
    });
    expect(whole).toMatchObject({ finished: ['i-1'], start: ['i-2'] });
  });

  test('missing capacity counts as unavailable', () => {
    const plan = planReplacement({
      market: 'spot',
      policy,
      desiredCapacity: 3,
      instances: [inst('i-1', 'on-demand'), inst('i-2', 'on-demand')],
      replacing: [],
    });
    expect(plan.start).toEqual([]);
    expect(plan.unavailable).toBe(1);
  });

  test('maxUnavailable 2 starts two; cordoned instances go first (restart resumes them)', () => {
    const instances = [
      inst('i-1', 'on-demand'),
      inst('i-2', 'on-demand'),
      inst('i-3', 'on-demand', { node: { name: 'n3', ready: true, unschedulable: true } }),
    ];
    const plan = planReplacement({
      market: 'spot',
      policy: { ...policy, maxUnavailable: 2 },
      desiredCapacity: 3,
      instances,
      replacing: [],
    });
    expect(plan.start).toHaveLength(2);
    expect(plan.start[0]).toBe('i-3');
  });

  test('on-demand base capacity keeps that many on-demand instances', () => {
    const instances = [
      inst('i-1', 'on-demand', { launchTime: 1 }),
      inst('i-2', 'on-demand', { launchTime: 2 }),
      inst('i-3', 'spot'),
    ];
    const plan = planReplacement({
      market: 'spot',
      policy: { ...policy, onDemandBaseCapacity: 1 },
      desiredCapacity: 3,
      instances,
      replacing: [],
    });
    expect(plan.mismatched).toEqual(['i-2']);
  });

  test('on-demand market replaces spot instances; all matching -> nothing', () => {
    const instances = [inst('i-1', 'spot'), inst('i-2', 'on-demand')];
    expect(
      planReplacement({ market: 'on-demand', policy, desiredCapacity: 2, instances, replacing: [] }).start,
    ).toEqual(['i-1']);
    expect(
      planReplacement({
        market: 'spot',
        policy,
        desiredCapacity: 1,
        instances: [inst('i-1', 'spot')],
        replacing: [],
      }).mismatched,
    ).toEqual([]);
  });
});

describe('tags', () => {
  const defaults: Policy = {
    enterSpotRatio: 0.7,
    exitSpotRatio: 0.85,
    minDwellMs: 1_800_000,
    maxUnavailable: 1,
    onDemandBaseCapacity: 0,
  };
  test.each([
    ['use-spot', 'use-spot'],
    ['USE-SPOT', 'use-spot'],
    ['no-spot', 'no-spot'],
    ['spot-please', 'no-spot'],
    ['', 'no-spot'],
  ])('mode %j -> %s', (value, mode) => {
    expect(modeOf({ [TAG.mode]: value })).toBe(mode);
  });

  test('not-terminate is true only for "true" (any case)', () => {
    expect(notTerminate({ [TAG.notTerminate]: 'True' })).toBe(true);
    expect(notTerminate({ [TAG.notTerminate]: 'yes' })).toBe(false);
  });

  test('policy tags override defaults; bad ones are reported and ignored', () => {
    const { policy, problems } = policyOf(
      {
        [TAG.enterSpotRatio]: '0.5',
        [TAG.minDwellSeconds]: '60',
        [TAG.maxUnavailable]: 'two',
        [TAG.onDemandBaseCapacity]: '1',
      },
      defaults,
    );
    expect(policy).toEqual({ ...defaults, enterSpotRatio: 0.5, minDwellMs: 60_000, onDemandBaseCapacity: 1 });
    expect(problems).toEqual([{ tag: TAG.maxUnavailable, value: 'two', problem: 'must be an integer >= 1' }]);
  });

  test('an exit ratio not above the enter ratio falls back to the defaults', () => {
    const { policy, problems } = policyOf(
      { [TAG.enterSpotRatio]: '0.8', [TAG.exitSpotRatio]: '0.6' },
      defaults,
    );
    expect(policy.enterSpotRatio).toBe(0.7);
    expect(policy.exitSpotRatio).toBe(0.85);
    expect(problems[0]?.tag).toBe(TAG.exitSpotRatio);
  });
});

describe('on-demand price list parsing', () => {
  const entry = (prices: string[]) =>
    JSON.stringify({
      product: { attributes: { instanceType: 'm5.large' } },
      terms: {
        OnDemand: {
          'T.1': {
            priceDimensions: Object.fromEntries(
              prices.map((p, i) => [`D.${i}`, { unit: 'Hrs', pricePerUnit: { USD: p } }]),
            ),
          },
        },
      },
    });
  test.each([
    [['0.0960000000'], 0.096],
    [['0.0000000000', '0.0960000000'], 0.096],
    [['0.0000000000'], undefined],
  ])('%j -> %s', (prices, expected) => {
    expect(onDemandPriceOf(entry(prices))).toBe(expected);
  });
  test('garbage is unknown, not zero', () => {
    expect(onDemandPriceOf('not json')).toBeUndefined();
  });
});
