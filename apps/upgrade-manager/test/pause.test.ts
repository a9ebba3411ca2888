/**
 * A launch template whose instances never become Ready nodes pauses the roll with a clear condition
 * instead of taking the group down. The "bad AMI" is simulated by stopping the node simulator once the
 * roll starts: replacements launch in moto but no Node ever joins for them (old Nodes stay).
 */
import { expect, test } from '@jest/globals';
import { waitFor } from '@keiko/testkit';
import {
  createRollingUpgrade,
  getRollingUpgrade,
  newLaunchTemplateVersion,
  readyNodes,
  useRollWorld,
} from './support.js';

const fx = useRollWorld('pause', 4, { bootDelayMs: 0 });

test('replacements that never become Ready pause the roll, naming them; no further instance is touched', async () => {
  const before = (await fx.world.asgs.get(fx.world.asgName, { ttlMs: 0 }))!.Instances!.map(
    (i) => i.InstanceId!,
  );
  await newLaunchTemplateVersion(fx.world);
  await fx.world.sim.stop(); // from now on no instance joins the cluster
  await createRollingUpgrade(fx.world, 'roll', {
    strategy: { maxUnavailable: 1 },
    replacementReadyTimeoutSeconds: 3,
  });
  const paused = await waitFor(
    async () => {
      const ru = await getRollingUpgrade(fx.world, 'roll');
      const ready = ru.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.reason === 'ReplacementsNotReady' && ru;
    },
    { timeoutMs: 60_000, intervalMs: 500, description: 'Ready=False ReplacementsNotReady' },
  );
  const group = (await fx.world.asgs.get(fx.world.asgName, { ttlMs: 0 }))!;
  const replacement = group.Instances!.map((i) => i.InstanceId!).filter((id) => !before.includes(id));
  expect(replacement).toHaveLength(1);
  const ready = paused.status!.conditions!.find((c) => c.type === 'Ready')!;
  expect(ready.status).toBe('False');
  expect(ready.message).toContain(replacement[0]);
  expect(paused.status!.conditions!.find((c) => c.type === 'Paused')).toMatchObject({
    status: 'True',
    reason: 'ReplacementsNotReady',
  });
  expect(paused.status!.currentStatus).toBe('running');

  // It stays paused: three more seconds, still one instance replaced and three old nodes serving.
  await new Promise((r) => setTimeout(r, 3000));
  const later = await getRollingUpgrade(fx.world, 'roll');
  expect(later.status!.instances!.map((i) => i.instanceId)).toEqual([
    before.find((id) => !group.Instances!.some((i) => i.InstanceId === id)),
  ]);
  expect(
    (await fx.world.asgs.get(fx.world.asgName, { ttlMs: 0 }))!.Instances!.filter((i) =>
      before.includes(i.InstanceId!),
    ),
  ).toHaveLength(3);
  expect((await readyNodes(fx.world)).filter((n) => !n.spec?.unschedulable)).toHaveLength(3);
});
