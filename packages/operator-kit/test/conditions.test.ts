import { describe, expect, test } from '@jest/globals';
import { getCondition, setCondition, summarizeReady } from '../src/conditions.js';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const t1 = new Date('2026-01-01T00:05:00.000Z');

describe('conditions', () => {
  test('lastTransitionTime changes only when status changes', () => {
    let c = setCondition([], { type: 'Ready', status: 'False', reason: 'Pending', message: 'a' }, 1, t0);
    expect(c[0]?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    c = setCondition(c, { type: 'Ready', status: 'False', reason: 'StillPending', message: 'b' }, 2, t1);
    expect(c[0]).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'StillPending',
      message: 'b',
      observedGeneration: 2,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
    c = setCondition(c, { type: 'Ready', status: 'True', reason: 'Done' }, 2, t1);
    expect(c[0]?.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
  });

  test('order is kept and new types are appended', () => {
    let c = setCondition([], { type: 'A', status: 'True', reason: 'R' }, 1, t0);
    c = setCondition(c, { type: 'B', status: 'True', reason: 'R' }, 1, t0);
    c = setCondition(c, { type: 'A', status: 'False', reason: 'R' }, 1, t0);
    expect(c.map((x) => x.type)).toEqual(['A', 'B']);
  });

  test('Ready summarises the required conditions', () => {
    let c = setCondition([], { type: 'Valid', status: 'True', reason: 'Ok' }, 3, t0);
    c = summarizeReady(c, ['Valid', 'Synced'], 3, 'Ready', t0);
    expect(getCondition(c, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'SyncedUnknown' });
    c = setCondition(c, { type: 'Synced', status: 'False', reason: 'AwsError', message: 'boom' }, 3, t0);
    c = summarizeReady(c, ['Valid', 'Synced'], 3, 'Ready', t0);
    expect(getCondition(c, 'Ready')).toMatchObject({ status: 'False', reason: 'AwsError', message: 'boom' });
    c = setCondition(c, { type: 'Synced', status: 'True', reason: 'Ok' }, 3, t1);
    c = summarizeReady(c, ['Valid', 'Synced'], 3, 'Ready', t1);
    expect(getCondition(c, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Ready',
      observedGeneration: 3,
    });
  });
});
