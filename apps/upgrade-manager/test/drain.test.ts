/**
 * Drain failures, both ways, against a PodDisruptionBudget that allows no disruption (maxUnavailable
 * 0): the API server refuses every eviction with 429.
 *
 * - `drainTimeout` set, `ignoreDrainFailures` false: while the drain retries, a `DrainBlocked` event
 *   names the pod and the node stays cordoned; at the timeout the roll ends in `error` with
 *   `Ready=False DrainFailed` naming the pod, the node is uncordoned, the instance is tagged
 *   `upgrademgr.keikoproj.io/state=failed-drain`, and nothing is terminated.
 * - `ignoreDrainFailures: true`: each drain gives up at its timeout and the instance is replaced
 *   anyway; the roll completes.
 */
import { expect, test } from '@jest/globals';
import { CoreResources, type KubeObject } from '@keiko/operator-kit';
import { waitFor } from '@keiko/testkit';
import { STATE_TAG } from '../src/controller/rollingupgrade.js';
import {
  allInstances,
  clusterNodes,
  createRollingUpgrade,
  getRollingUpgrade,
  newLaunchTemplateVersion,
  useRollWorld,
} from './support.js';

const fx = useRollWorld('drain', 3, {
  bootDelayMs: 500,
  app: { name: 'pinned', replicas: 3, pdbMaxUnavailable: 0 },
});

type Event = KubeObject & { reason?: string; note?: string; regarding?: { name?: string } };
const eventsOf = async (roll: string, reason: string) =>
  (await fx.world.client.list<Event>(CoreResources.events, { namespace: fx.world.namespace })).items.filter(
    (e) => e.regarding?.name === roll && e.reason === reason,
  );

test('a drain a PDB refuses: DrainBlocked while it retries, then DrainFailed at the timeout; uncordoned, tagged, nothing terminated', async () => {
  const before = (await fx.world.asgs.get(fx.world.asgName, { ttlMs: 0 }))!.Instances!.map(
    (i) => i.InstanceId!,
  );
  await newLaunchTemplateVersion(fx.world);
  await createRollingUpgrade(fx.world, 'blocked', {
    strategy: { type: 'randomUpdate', mode: 'lazy', maxUnavailable: 1, drainTimeout: 6 },
  });

  // While the drain retries: the event names the refused pod, the roll is still running, and
  // exactly one node is cordoned.
  const [blocked] = await waitFor(
    async () => {
      const events = await eventsOf('blocked', 'DrainBlocked');
      return events.length > 0 && events;
    },
    { timeoutMs: 30_000, intervalMs: 250, description: 'a DrainBlocked event' },
  );
  expect(blocked!.note).toMatch(
    /eviction of .*\/pinned-.* refused \(.*disruption budget.*\); retrying until the drain timeout \(6s\)/,
  );
  const during = await getRollingUpgrade(fx.world, 'blocked');
  expect(during.status?.currentStatus).toBe('running');
  const [record] = during.status!.instances!;
  expect(record!.phase).toBe('Draining');
  expect(
    (await clusterNodes(fx.world)).filter((n) => n.spec?.unschedulable).map((n) => n.metadata.name),
  ).toEqual([record!.nodeName]);

  const failed = await waitFor(
    async () => {
      const ru = await getRollingUpgrade(fx.world, 'blocked');
      return ru.status?.currentStatus === 'error' && ru;
    },
    { timeoutMs: 30_000, intervalMs: 250, description: 'the roll to fail' },
  );
  const ready = failed.status!.conditions!.find((c) => c.type === 'Ready')!;
  expect(ready).toMatchObject({ status: 'False', reason: 'DrainFailed' });
  expect(ready.message).toContain(record!.instanceId);
  expect(ready.message).toMatch(/pinned-.*disruption budget/);
  expect(failed.status!.instances!.map((i) => [i.instanceId, i.phase])).toEqual([
    [record!.instanceId, 'Failed'],
  ]);
  expect(await eventsOf('blocked', 'DrainFailed')).toHaveLength(1);
  // Uncordoned, nothing terminated, the instance tagged as upstream tags it.
  expect((await clusterNodes(fx.world)).filter((n) => n.spec?.unschedulable)).toEqual([]);
  const group = (await fx.world.asgs.get(fx.world.asgName, { ttlMs: 0 }))!;
  expect(group.Instances!.map((i) => i.InstanceId).sort()).toEqual([...before].sort());
  const tagged = (await allInstances(fx.world)).find((i) => i.InstanceId === record!.instanceId)!;
  expect(tagged.Tags?.find((t) => t.Key === STATE_TAG)?.Value).toBe('failed-drain');
}, 120_000);

test('ignoreDrainFailures: every drain gives up at its timeout and the roll completes anyway', async () => {
  const before = (await fx.world.asgs.get(fx.world.asgName, { ttlMs: 0 }))!.Instances!.map(
    (i) => i.InstanceId!,
  );
  await createRollingUpgrade(fx.world, 'ignoring', {
    strategy: { type: 'randomUpdate', mode: 'lazy', maxUnavailable: 1, drainTimeout: 1 },
    ignoreDrainFailures: true,
  });
  const done = await waitFor(
    async () => {
      const ru = await getRollingUpgrade(fx.world, 'ignoring');
      if (ru.status?.currentStatus === 'error') throw new Error(`roll failed: ${JSON.stringify(ru.status)}`);
      return ru.status?.currentStatus === 'completed' && ru;
    },
    { timeoutMs: 90_000, intervalMs: 500, description: 'the roll to complete' },
  );
  expect(done.status!.instances!.map((i) => i.instanceId).sort()).toEqual([...before].sort());
  // Each drain was refused (the PDB never allows one) and the instance went anyway.
  for (const i of done.status!.instances!) {
    expect(i.phase).toBe('Terminated');
    expect(i.message).toMatch(/drain did not complete: .*pinned-.*disruption budget/);
  }
  const group = (await fx.world.asgs.get(fx.world.asgName, { ttlMs: 0 }))!;
  expect(group.Instances!.filter((i) => before.includes(i.InstanceId!))).toEqual([]);
}, 120_000);
