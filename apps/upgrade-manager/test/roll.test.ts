/**
 * The roll end to end on the real control plane + moto + node simulator: an ASG of 6 Ready nodes
 * running a Deployment guarded by a PDB (maxUnavailable 1) is rolled to a new launch template version
 * with uniformAcrossAzUpdate and maxUnavailable 2, lazily and eagerly. Availability is sampled every
 * 100 ms throughout; at the end every old instance is gone (terminated exactly once: 12 instances ever
 * launched), every new one is a Ready, schedulable node, and the pods are all running.
 */
import { describe, expect, test } from '@jest/globals';
import { waitFor } from '@keiko/testkit';
import {
  allInstances,
  clusterNodes,
  createRollingUpgrade,
  getRollingUpgrade,
  newLaunchTemplateVersion,
  readyNodes,
  runningPods,
  sampleAvailability,
  useRollWorld,
} from './support.js';

describe.each(['lazy', 'eager'] as const)('%s mode', (mode) => {
  const fx = useRollWorld(`roll-${mode}`, 6, { app: { name: 'web', replicas: 6 } });

  test('rolls 6 nodes to a new template version, never more than 2 unavailable', async () => {
    const initial = (await fx.world.asgs.get(fx.world.asgName, { ttlMs: 0 }))!.Instances!;
    const before = initial.map((i) => i.InstanceId!);
    expect(before).toHaveLength(6);
    // Spread over three zones, two each (as AWS balances a group over its subnets).
    const zoneOf = new Map(initial.map((i) => [i.InstanceId!, i.AvailabilityZone!]));
    const zones = [...new Set(zoneOf.values())];
    expect(zones).toHaveLength(3);
    for (const z of zones) expect(before.filter((id) => zoneOf.get(id) === z)).toHaveLength(2);
    const version = await newLaunchTemplateVersion(fx.world);
    const sampler = sampleAvailability(fx.world, 6);
    await createRollingUpgrade(fx.world, 'roll', {
      strategy: { type: 'uniformAcrossAzUpdate', mode, maxUnavailable: 2, drainTimeout: 120 },
    });
    const done = await waitFor(
      async () => {
        const ru = await getRollingUpgrade(fx.world, 'roll');
        if (ru.status?.currentStatus === 'error')
          throw new Error(`roll failed: ${JSON.stringify(ru.status)}`);
        return ru.status?.currentStatus === 'completed' && ru;
      },
      { timeoutMs: 150_000, intervalMs: 500, description: 'the roll to complete' },
    );
    const { maxUnavailable, samples, worst, minAvailablePerZone } = await sampler.stop();

    expect(samples).toBeGreaterThan(20);
    if (maxUnavailable > 2) throw new Error(`more than 2 nodes unavailable:\n${worst.join('\n')}`);
    // Upstream's view of the result.
    expect(done.status).toMatchObject({ totalNodes: 6, nodesProcessed: 6, completePercentage: '100%' });
    expect(done.metadata.labels?.['rollingupgrade.keikoproj.io/current-status']).toBe('completed');
    expect(done.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Ready', status: 'True' }),
        expect.objectContaining({ type: 'Complete', status: 'True' }),
      ]),
    );
    expect(done.status?.instances?.map((i) => i.instanceId).sort()).toEqual([...before].sort());
    expect(done.status?.instances?.every((i) => i.phase === 'Terminated')).toBe(true);
    // uniformAcrossAzUpdate across real zones: in the order instances were taken (status keeps it),
    // the zones' replaced counts never differ by more than one, and no zone was ever left without an
    // available node (sampled throughout).
    const replaced = new Map(zones.map((z) => [z, 0]));
    for (const record of done.status!.instances!) {
      expect(record.availabilityZone).toBe(zoneOf.get(record.instanceId));
      replaced.set(record.availabilityZone!, replaced.get(record.availabilityZone!)! + 1);
      expect(Math.max(...replaced.values()) - Math.min(...replaced.values())).toBeLessThanOrEqual(1);
    }
    for (const z of zones) expect(minAvailablePerZone.get(z)).toBeGreaterThanOrEqual(1);

    // Every old instance gone; 6 new ones on the new version, each a Ready, schedulable node.
    const group = (await fx.world.asgs.get(fx.world.asgName, { ttlMs: 0 }))!;
    const now = group.Instances!.map((i) => i.InstanceId!);
    expect(now).toHaveLength(6);
    expect(now.filter((id) => before.includes(id))).toEqual([]);
    expect(group.Instances!.every((i) => i.LifecycleState === 'InService')).toBe(true);
    const everything = await allInstances(fx.world);
    expect(everything).toHaveLength(12); // each old instance terminated once, one replacement each
    for (const i of everything) {
      const tag = (k: string) => i.Tags?.find((t) => t.Key === k)?.Value;
      if (before.includes(i.InstanceId!)) expect(i.State?.Name).toMatch(/shutting-down|terminated/);
      else expect(tag('aws:ec2launchtemplate:version')).toBe(version);
    }
    const nodes = await waitFor(
      async () => {
        const ready = await readyNodes(fx.world);
        return ready.length === 6 && ready;
      },
      { description: '6 Ready nodes' },
    );
    expect(nodes.map((n) => n.spec?.providerID?.split('/').pop()).sort()).toEqual([...now].sort());
    // The new version's user data reached the nodes (its kubelet label).
    for (const n of nodes) expect(n.metadata.labels?.['keiko.dev/pool']).toBe(fx.world.pool);
    expect((await clusterNodes(fx.world)).filter((n) => n.spec?.unschedulable)).toEqual([]);
    await waitFor(async () => (await runningPods(fx.world, 'web')).length === 6, {
      description: 'pods running',
    });
  }, 240_000);
});
