/**
 * The read cache, proven by the call counters against moto: concurrent identical reads make one
 * AWS call, and a write through the helpers invalidates what it touched.
 */

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { AutoScalingGroups, TtlCache } from '../src/index.js';
import { type AwsTestContext, awsTestContext, counter, templateGroup } from './support.js';

let ctx: AwsTestContext;
beforeAll(async () => {
  ctx = await awsTestContext('cache');
});
afterAll(() => ctx?.aws.destroy());

const describeCalls = () =>
  counter(ctx.aws, 'calls', {
    service: 'autoscaling',
    operation: 'DescribeAutoScalingGroups',
    result: 'success',
  });

test('100 concurrent identical Describe calls make one AWS call; a write invalidates', async () => {
  const { aws, account } = ctx;
  const name = `${account.clusterName}-cached`;
  // No cluster tag: these instances never become Nodes.
  await templateGroup(ctx, name, { desired: 1, subnets: 1 });
  const asgs = new AutoScalingGroups(aws);

  const before = await describeCalls();
  const answers = await Promise.all(Array.from({ length: 100 }, () => asgs.get(name, { ttlMs: 60_000 })));
  expect(await describeCalls()).toBe(before + 1);
  expect(new Set(answers.map((g) => g?.DesiredCapacity))).toEqual(new Set([1]));
  expect(await counter(aws, 'cacheHits', { operation: 'DescribeAutoScalingGroups' })).toBe(99);

  // Within the TTL a later read is a hit, too.
  await asgs.get(name, { ttlMs: 60_000 });
  expect(await describeCalls()).toBe(before + 1);

  await asgs.setDesiredCapacity(name, 2);
  const fresh = await asgs.get(name, { ttlMs: 60_000 });
  expect(await describeCalls()).toBe(before + 2);
  expect(fresh?.DesiredCapacity).toBe(2);

  // A by-tag query is invalidated by a write to any group.
  await asgs.findByTags({ 'keiko.dev/never-set': undefined });
  await asgs.findByTags({ 'keiko.dev/never-set': undefined });
  expect(await describeCalls()).toBe(before + 3);
  await asgs.putTags(name, { 'keiko.dev/never-set': 'now' });
  expect(
    (await asgs.findByTags({ 'keiko.dev/never-set': undefined })).map((g) => g.AutoScalingGroupName),
  ).toEqual([name]);
  expect(await describeCalls()).toBe(before + 4);
});

describe('TtlCache', () => {
  test('expires by its clock, and never stores an answer invalidated while in flight', async () => {
    let now = 0;
    const cache = new TtlCache(() => now);
    let loads = 0;
    const load = async () => ++loads;
    const lookup = { ttlMs: 1_000, tags: ['t'] };
    expect(await cache.get('k', lookup, load)).toBe(1);
    now = 999;
    expect(await cache.get('k', lookup, load)).toBe(1);
    now = 1_000;
    expect(await cache.get('k', lookup, load)).toBe(2);

    let release!: (v: number) => void;
    const slow = new Promise<number>((r) => {
      release = r;
    });
    const inFlight = cache.get('slow', lookup, () => slow);
    cache.invalidate('t'); // a write lands while the read is in flight
    release(41);
    expect(await inFlight).toBe(41);
    expect(await cache.get('slow', lookup, async () => 42)).toBe(42);
  });

  test("a caller's TTL bounds the age of the answer it accepts; 0 always reads afresh", async () => {
    let now = 0;
    const cache = new TtlCache(() => now);
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get('k', { ttlMs: 60_000, tags: [] }, load)).toBe(1);
    now = 5_000;
    expect(await cache.get('k', { ttlMs: 60_000, tags: [] }, load)).toBe(1); // within both TTLs
    expect(await cache.get('k', { ttlMs: 1_000, tags: [] }, load)).toBe(2); // 5 s old is too old for 1 s
    expect(await cache.get('k', { ttlMs: 0, tags: [] }, load)).toBe(3); // fresh, although stored 0 ms ago
    expect(await cache.get('k', { ttlMs: 0, tags: [] }, load)).toBe(4);
    // A 0-TTL read stores nothing, so the next long-TTL caller reads too.
    expect(await cache.get('k', { ttlMs: 60_000, tags: [] }, load)).toBe(5);
  });

  test('a failed load is not kept', async () => {
    const cache = new TtlCache();
    await expect(
      cache.get('k', { ttlMs: 1_000, tags: [] }, () => Promise.reject(new Error('boom'))),
    ).rejects.toThrow('boom');
    expect(await cache.get('k', { ttlMs: 1_000, tags: [] }, async () => 'ok')).toBe('ok');
  });
});
