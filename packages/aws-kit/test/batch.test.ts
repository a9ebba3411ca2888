/**
 * Keyed reads are batched: KeyBatcher alone (call boundaries, freshness, failures), then the groups
 * and instances helpers against moto, where concurrent reads of different groups share one call.
 */

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { AutoScalingGroups, Ec2, KeyBatcher, KeyError } from '../src/index.js';
import { type AwsTestContext, awsTestContext, counter, templateGroup } from './support.js';

/** A loadMany whose calls the test answers by hand. */
function manualLoader() {
  const calls: { keys: string[]; answer: (m: Map<string, string>) => void; fail: (e: Error) => void }[] = [];
  const loadMany = (keys: string[]) =>
    new Promise<Map<string, string>>((resolve, reject) =>
      calls.push({ keys, answer: resolve, fail: reject }),
    );
  return { calls, loadMany };
}
const tick = () => new Promise((r) => setImmediate(r));
const echo = (keys: string[]) => new Map(keys.map((k) => [k, `v:${k}`]));

describe('KeyBatcher', () => {
  test('keys asked for together go in one call; keys asked for during a call go together in the next', async () => {
    const { calls, loadMany } = manualLoader();
    const b = new KeyBatcher(loadMany, { maxKeys: 100 });
    const first = Promise.all(['a', 'b', 'c'].map((k) => b.load(k)));
    await tick();
    expect(calls.map((c) => c.keys)).toEqual([['a', 'b', 'c']]);

    // While the first call is in flight, three more reads (one of a key the first call carries: it
    // was asked for after that call started, so it must not be answered by it).
    const second = Promise.all(['d', 'a', 'e'].map((k) => b.load(k)));
    await tick();
    expect(calls).toHaveLength(1);
    calls[0]!.answer(
      new Map([
        ['a', 'old-a'],
        ['b', 'v:b'],
      ]),
    ); // c does not exist
    expect(await first).toEqual(['old-a', 'v:b', undefined]);
    await tick();
    expect(calls.map((c) => c.keys)).toEqual([
      ['a', 'b', 'c'],
      ['d', 'a', 'e'],
    ]);
    calls[1]!.answer(
      new Map([
        ['a', 'new-a'],
        ['d', 'v:d'],
        ['e', 'v:e'],
      ]),
    );
    expect(await second).toEqual(['v:d', 'new-a', 'v:e']);
    expect(b.stats).toEqual({ calls: 2, keys: 6 });
  });

  test('at most maxKeys per call, one call in flight at a time by default', async () => {
    const { calls, loadMany } = manualLoader();
    const b = new KeyBatcher(loadMany, { maxKeys: 2 });
    const all = Promise.all(['a', 'b', 'c', 'd', 'e'].map((k) => b.load(k)));
    for (let i = 0; i < 3; i++) {
      await tick();
      expect(calls).toHaveLength(i + 1);
      calls[i]!.answer(echo(calls[i]!.keys));
    }
    expect(calls.map((c) => c.keys)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(await all).toEqual(['v:a', 'v:b', 'v:c', 'v:d', 'v:e']);

    const parallel = manualLoader();
    const p = new KeyBatcher(parallel.loadMany, { maxKeys: 2, maxInFlight: 3 });
    const loads = ['a', 'b', 'c', 'd', 'e'].map((k) => p.load(k));
    await tick();
    expect(parallel.calls.map((c) => c.keys)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    for (const c of parallel.calls) c.answer(echo(c.keys));
    await Promise.all(loads);
  });

  test('a failed call fails its keys only; the next call goes out', async () => {
    const { calls, loadMany } = manualLoader();
    const b = new KeyBatcher(loadMany, { maxKeys: 100 });
    const failed = Promise.allSettled([b.load('a'), b.load('b')]);
    await tick();
    const later = b.load('c');
    calls[0]!.fail(new Error('Throttling'));
    expect((await failed).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await tick();
    expect(calls[1]!.keys).toEqual(['c']);
    calls[1]!.answer(echo(['c']));
    expect(await later).toBe('v:c');
    // A KeyError answers one key: that key fails, the others of the call do not.
    const perKey = new KeyBatcher<string>(
      async (keys) =>
        new Map(keys.map((k) => [k, k === 'bad' ? new KeyError(new Error('malformed')) : `v:${k}`])),
      { maxKeys: 10 },
    );
    const results = await Promise.allSettled(['ok', 'bad', 'fine'].map((k) => perKey.load(k)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'v:ok',
      'malformed',
      'v:fine',
    ]);
    // A loadMany that throws synchronously is a failed call too, not a stuck batcher.
    const throwing = new KeyBatcher<string>(
      () => {
        throw new Error('bad input');
      },
      { maxKeys: 10 },
    );
    await expect(throwing.load('x')).rejects.toThrow('bad input');
    await expect(throwing.load('y')).rejects.toThrow('bad input');
  });
});

describe('groups and instances by name/id against moto', () => {
  let ctx: AwsTestContext;
  const names: string[] = [];
  beforeAll(async () => {
    ctx = await awsTestContext('batch');
    for (let i = 0; i < 4; i++) {
      const name = `${ctx.account.clusterName}-g${i}`;
      names.push(name);
      await templateGroup(ctx, name, { desired: 2 });
    }
  });
  afterAll(() => ctx?.aws.destroy());

  const calls = (operation: string) => counter(ctx.aws, 'calls', { operation, result: 'success' });

  test('concurrent reads of different groups (and their instances) from separate helpers share one call', async () => {
    const before = await calls('DescribeAutoScalingGroups');
    // Separate helper objects, as separate controllers hold them, on the same clients.
    const groups = await Promise.all(
      [...names, `${ctx.account.clusterName}-missing`].map((n) => new AutoScalingGroups(ctx.aws).get(n)),
    );
    expect(await calls('DescribeAutoScalingGroups')).toBe(before + 1);
    expect(groups.map((g) => g?.AutoScalingGroupName)).toEqual([...names, undefined]);

    const beforeInstances = await calls('DescribeInstances');
    const perGroup = await Promise.all(
      groups.slice(0, 4).map((g) => new Ec2(ctx.aws).instances(g!.Instances!.map((i) => i.InstanceId!))),
    );
    expect(await calls('DescribeInstances')).toBe(beforeInstances + 1);
    perGroup.forEach((instances, i) => {
      expect(instances.map((x) => x.InstanceId).sort()).toEqual(
        groups[i]!.Instances!.map((x) => x.InstanceId).sort(),
      );
    });

    // Cached per group: a group read again within the TTL costs nothing, a fresh read (ttlMs 0) of
    // two groups costs one call.
    await new AutoScalingGroups(ctx.aws).get(names[0]!);
    expect(await calls('DescribeAutoScalingGroups')).toBe(before + 1);
    const asgs = new AutoScalingGroups(ctx.aws);
    const fresh = await asgs.describe([names[1]!, names[2]!], { ttlMs: 0 });
    expect(fresh.map((g) => g.AutoScalingGroupName)).toEqual([names[1], names[2]]);
    expect(await calls('DescribeAutoScalingGroups')).toBe(before + 2);
  });

  test('a read after a write sees the write (the write invalidates that group only)', async () => {
    const asgs = new AutoScalingGroups(ctx.aws);
    await asgs.describe(names);
    const before = await calls('DescribeAutoScalingGroups');
    await asgs.setDesiredCapacity(names[3]!, 3);
    const [other, written] = await Promise.all([asgs.get(names[0]!), asgs.get(names[3]!)]);
    expect(other?.DesiredCapacity).toBe(2);
    expect(written?.DesiredCapacity).toBe(3);
    expect(await calls('DescribeAutoScalingGroups')).toBe(before + 1);
  });
  test('launch templates by id are batched; an unknown id among them costs the others nothing', async () => {
    const ec2 = new Ec2(ctx.aws);
    const groups = await new AutoScalingGroups(ctx.aws).describe(names);
    const ids = [...new Set(groups.map((g) => g.LaunchTemplate!.LaunchTemplateId!))];
    const lts = await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        templateGroup(ctx, `${ctx.account.clusterName}-lt${i}`, { desired: 0 }),
      ),
    );
    const before = await calls('DescribeLaunchTemplates');
    const found = await Promise.all(
      [...ids, ...lts].map((id) => new Ec2(ctx.aws).launchTemplate(id, { ttlMs: 0 })),
    );
    expect(found.map((t) => t?.LaunchTemplateId)).toEqual([...ids, ...lts]);
    expect(await calls('DescribeLaunchTemplates')).toBe(before + 1);

    // With an id that does not exist in the same batch: that one is undefined, the others found.
    const missing = 'lt-0123456789abcdef0';
    const mixed = await Promise.all(
      [lts[0]!, missing, lts[1]!].map((id) => ec2.launchTemplate(id, { ttlMs: 0 })),
    );
    expect(mixed.map((t) => t?.LaunchTemplateId)).toEqual([lts[0], undefined, lts[1]]);
  });
});
