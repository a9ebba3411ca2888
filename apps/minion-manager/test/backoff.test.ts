/** Capacity back-off and reading failures out of scaling activities (pure, injected clock). */
import { describe, expect, test } from '@jest/globals';
import { decodeBackoffs, encodeBackoffs } from '../src/asg/tags.js';
import { capacityFailures } from '../src/decision/activities.js';
import { backoffDuration, isBackedOff, recordCapacityFailures } from '../src/decision/backoff.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const opts = { baseMs: 10 * MIN, maxMs: 120 * MIN };

describe('capacity back-off', () => {
  test.each([
    [1, 10],
    [2, 20],
    [3, 40],
    [4, 80],
    [5, 120],
    [9, 120],
  ])('failure #%i backs off %i minutes', (n, minutes) => {
    expect(backoffDuration(n, opts)).toBe(minutes * MIN);
  });

  test('repeated failures double the back-off; the same failure seen twice counts once', () => {
    const f1 = { instanceType: 'm5.large', zone: 'us-east-1a', at: T0 };
    let b = recordCapacityFailures([], [f1], T0, opts);
    expect(b).toEqual([
      { instanceType: 'm5.large', zone: 'us-east-1a', failures: 1, lastFailure: T0, until: T0 + 10 * MIN },
    ]);
    // Next cycle sees the same activity again.
    b = recordCapacityFailures(b, [f1], T0 + MIN, opts);
    expect(b[0]?.failures).toBe(1);
    // A new failure after the back-off ended extends the streak.
    b = recordCapacityFailures(b, [f1, { ...f1, at: T0 + 11 * MIN }], T0 + 11 * MIN, opts);
    expect(b[0]).toMatchObject({ failures: 2, until: T0 + 31 * MIN });
    expect(isBackedOff(b, 'm5.large', 'us-east-1a', T0 + 30 * MIN)).toBe(true);
    expect(isBackedOff(b, 'm5.large', 'us-east-1b', T0 + 30 * MIN)).toBe(false);
    expect(isBackedOff(b, 'm5.large', 'us-east-1a', T0 + 31 * MIN)).toBe(false);
  });

  test('a long quiet period resets the streak and forgets the entry', () => {
    const b = recordCapacityFailures(
      [],
      [{ instanceType: 'm5.large', zone: 'us-east-1a', at: T0 }],
      T0,
      opts,
    );
    expect(recordCapacityFailures(b, [], T0 + 10 * MIN + 121 * MIN, opts)).toEqual([]);
  });

  test('per type and zone; an unknown type covers every type in the zone', () => {
    const b = recordCapacityFailures([], [{ instanceType: '', zone: 'us-east-1b', at: T0 }], T0, opts);
    expect(isBackedOff(b, 'm5.large', 'us-east-1b', T0 + MIN)).toBe(true);
    expect(isBackedOff(b, 'c5.large', 'us-east-1b', T0 + MIN)).toBe(true);
    expect(isBackedOff(b, 'c5.large', 'us-east-1a', T0 + MIN)).toBe(false);
  });

  test('survives the tag round trip without being counted again', () => {
    const at = T0 + 1234; // not a whole second
    const b = recordCapacityFailures([], [{ instanceType: 'm5.large', zone: 'us-east-1a', at }], at, opts);
    const decoded = decodeBackoffs(encodeBackoffs(b));
    expect(isBackedOff(decoded, 'm5.large', 'us-east-1a', at + 9 * MIN)).toBe(true);
    const again = recordCapacityFailures(
      decoded,
      [{ instanceType: 'm5.large', zone: 'us-east-1a', at }],
      at + MIN,
      opts,
    );
    expect(again[0]?.failures).toBe(1);
    expect(encodeBackoffs(again)).toBe(encodeBackoffs(b));
    expect(encodeBackoffs(b)).toMatch(/^[\w.:/=+\-@ ]+$/);
  });
});

describe('capacity failures from scaling activities', () => {
  const at = new Date(T0);
  test.each([
    [
      'spot InsufficientInstanceCapacity with zone in Details',
      {
        StatusCode: 'Failed',
        StatusMessage:
          'Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request. Launching EC2 instance failed.',
        Details: '{"Subnet ID":"subnet-1","Availability Zone":"us-east-1c"}',
      },
      [{ instanceType: '', zone: 'us-east-1c', at: T0 }],
    ],
    [
      'upstream message with type and zone in the text, still in progress',
      {
        StatusCode: 'WaitingForSpotInstanceId',
        StatusMessage:
          'We currently do not have sufficient m5.large capacity in the Availability Zone you requested (us-east-1a). Spot request failed.',
      },
      [{ instanceType: 'm5.large', zone: 'us-east-1a', at: T0 }],
    ],
    [
      'successful launch',
      {
        StatusCode: 'Successful',
        StatusMessage: 'Could not launch Spot Instances. InsufficientInstanceCapacity',
      },
      [],
    ],
    [
      'on-demand capacity failure is not a spot signal',
      {
        StatusCode: 'Failed',
        StatusMessage:
          'We currently do not have sufficient m5.large capacity in the Availability Zone you requested (us-east-1a).',
      },
      [],
    ],
    [
      'unrelated failure',
      { StatusCode: 'Failed', StatusMessage: 'Spot launch failed: the security group does not exist' },
      [],
    ],
  ])('%s', (_n, activity, expected) => {
    expect(capacityFailures([{ StartTime: at, ...activity }])).toEqual(expected);
  });
});
