/**
 * What happens to a RollingUpgrade's leftovers, on the real control plane + moto + node simulator:
 *
 * - ttlSecondsAfterFinished: a completed roll is deleted once its TTL has passed, not before.
 * - The finalizer: deleting an eager roll mid-way (its batch in Standby, drained and cordoned, held by a
 *   postDrain hook Job that cannot run) uncordons the nodes, returns the Standby instances to service,
 *   deletes the hook Jobs, terminates nothing, and then lets the object go.
 */
import { expect, test } from '@jest/globals';
import { isNotFound } from '@keiko/operator-kit';
import { waitFor } from '@keiko/testkit';
import { RollingUpgrades } from '../src/api/rollingupgrade.js';
import { type HookJob, Jobs } from '../src/controller/hooks.js';
import {
  allInstances,
  clusterNodes,
  createRollingUpgrade,
  getRollingUpgrade,
  newLaunchTemplateVersion,
  readyNodes,
  useRollWorld,
} from './support.js';

const fx = useRollWorld('cleanup', 4, {
  bootDelayMs: 500,
  config: (world) => ({ hookNamespace: world.namespace }),
});

const gone = async (name: string) => {
  try {
    await getRollingUpgrade(fx.world, name);
    return false;
  } catch (err) {
    if (isNotFound(err)) return true;
    throw err;
  }
};

test('a finished RollingUpgrade is deleted after ttlSecondsAfterFinished', async () => {
  await newLaunchTemplateVersion(fx.world);
  await createRollingUpgrade(fx.world, 'ttl', {
    strategy: { mode: 'lazy', maxUnavailable: 2 },
    ttlSecondsAfterFinished: 4,
  });
  const done = await waitFor(
    async () => {
      const ru = await getRollingUpgrade(fx.world, 'ttl');
      if (ru.status?.currentStatus === 'error') throw new Error(`roll failed: ${JSON.stringify(ru.status)}`);
      return ru.status?.currentStatus === 'completed' && ru;
    },
    { timeoutMs: 120_000, intervalMs: 250, description: 'the roll to complete' },
  );
  const end = Date.parse(done.status!.endTime!);
  // Still there shortly after completion (endTime has whole seconds: 4 s TTL minus up to 1 s).
  let checks = 0;
  while (Date.now() < end + 2500) {
    expect(await gone('ttl')).toBe(false);
    checks++;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(checks).toBeGreaterThan(0);
  await waitFor(() => gone('ttl'), { timeoutMs: 30_000, intervalMs: 250, description: 'the TTL deletion' });
}, 180_000);

test('deleting a RollingUpgrade mid-roll uncordons its nodes, exits Standby, deletes its hook Jobs, then it goes', async () => {
  const group = (await fx.world.asgs.get(fx.world.asgName, { ttlMs: 0 }))!;
  const before = group.Instances!.map((i) => i.InstanceId!);
  const launchedBefore = (await allInstances(fx.world)).length;
  await newLaunchTemplateVersion(fx.world);
  await createRollingUpgrade(fx.world, 'mid', {
    strategy: { mode: 'eager', maxUnavailable: 2, drainTimeout: 60 },
    // No Node carries this label: the postDrain Job never runs, so the batch stays drained and cordoned.
    postDrain: { script: 'true', nodeSelector: { 'test.keiko.io/never': 'true' } },
  });
  // The batch: in Standby, drained (cordoned), waiting for its postDrain Jobs.
  const held = await waitFor(
    async () => {
      const ru = await getRollingUpgrade(fx.world, 'mid');
      const waiting = (ru.status?.instances ?? []).filter(
        (i) =>
          i.phase === 'Terminating' && i.hooks?.some((h) => h.name === 'postDrain' && h.result === 'Running'),
      );
      return waiting.length === 2 && ru;
    },
    { timeoutMs: 120_000, intervalMs: 250, description: 'the batch drained and held by its postDrain hook' },
  );
  const batch = held.status!.instances!.map((i) => i.instanceId);
  const batchNodes = held.status!.instances!.map((i) => i.nodeName!);
  const standby = (await fx.world.asgs.get(fx.world.asgName, { ttlMs: 0 }))!.Instances!.filter(
    (i) => i.LifecycleState === 'Standby',
  );
  expect(standby.map((i) => i.InstanceId).sort()).toEqual([...batch].sort());
  const cordoned = (await clusterNodes(fx.world))
    .filter((n) => n.spec?.unschedulable)
    .map((n) => n.metadata.name);
  expect(cordoned.sort()).toEqual([...batchNodes].sort());
  const jobs = (await fx.world.client.list<HookJob>(Jobs, { namespace: fx.world.namespace })).items;
  expect(jobs).toHaveLength(2);

  await fx.world.client.delete(RollingUpgrades, 'mid', fx.world.namespace);
  await waitFor(() => gone('mid'), {
    timeoutMs: 60_000,
    intervalMs: 250,
    description: 'the RollingUpgrade to go',
  });

  // The finalizer ran before it went: nothing cordoned, the batch InService again, no Job left.
  expect((await clusterNodes(fx.world)).filter((n) => n.spec?.unschedulable)).toEqual([]);
  const after = (await fx.world.asgs.get(fx.world.asgName, { ttlMs: 0 }))!.Instances!;
  for (const id of before) {
    expect(after.find((i) => i.InstanceId === id)?.LifecycleState).toBe('InService');
  }
  const remaining = (await fx.world.client.list<HookJob>(Jobs, { namespace: fx.world.namespace })).items;
  expect(remaining.filter((j) => !j.metadata.deletionTimestamp)).toEqual([]);
  // Nothing terminated: the only new instances are the two eager replacements.
  const everything = await allInstances(fx.world);
  expect(everything).toHaveLength(launchedBefore + 2);
  for (const id of before) {
    expect(everything.find((i) => i.InstanceId === id)?.State?.Name).toBe('running');
  }
  await waitFor(async () => (await readyNodes(fx.world)).filter((n) => !n.spec?.unschedulable).length === 6, {
    timeoutMs: 30_000,
    description: '6 schedulable Ready nodes',
  });
}, 240_000);
