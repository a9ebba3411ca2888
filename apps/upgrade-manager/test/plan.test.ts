/**
 * The dry run, both ways, against the real ASG (moto, instances spread over three zones) and the real
 * Nodes: `node dist/main.js plan` (the built command, as a process) prints the pure planner's batches
 * for a RollingUpgrade manifest, and `spec.dryRun: true` writes the same batches into status.plan.
 * Neither changes anything: same instances, all InService, no node cordoned, no instance tagged.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { uniqueName, waitFor } from '@keiko/testkit';
import type { PlanOutput } from '../src/cli/plan.js';
import {
  allInstances,
  clusterNodes,
  createRollingUpgrade,
  getRollingUpgrade,
  newLaunchTemplateVersion,
  type RollWorld,
  rollWorld,
  startController,
} from './support.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let world: RollWorld;
let controller: Awaited<ReturnType<typeof startController>>;
beforeAll(async () => {
  world = await rollWorld('plan', 6, { bootDelayMs: 0 });
  controller = await startController(world);
}, 120_000);
afterAll(async () => {
  await controller?.stop();
  await world?.destroy();
});

function runPlan(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { account } = world;
  const child = spawn(process.execPath, [MAIN, 'plan', ...args], {
    env: {
      PATH: process.env.PATH,
      KUBECONFIG: process.env.KUBECONFIG,
      AWS_ENDPOINT_URL: account.endpoint,
      AWS_REGION: account.region,
      AWS_ACCESS_KEY_ID: account.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: account.credentials.secretAccessKey,
      ...(account.credentials.sessionToken ? { AWS_SESSION_TOKEN: account.credentials.sessionToken } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

async function snapshot() {
  const group = (await world.asgs.get(world.asgName, { ttlMs: 0 }))!;
  const instances = await allInstances(world);
  return {
    asg: group.Instances!.map((i) => `${i.InstanceId}:${i.LifecycleState}`).sort(),
    cordoned: (await clusterNodes(world)).filter((n) => n.spec?.unschedulable).map((n) => n.metadata.name),
    tagged: instances
      .filter((i) => i.Tags?.some((t) => t.Key?.startsWith('upgrademgr')))
      .map((i) => i.InstanceId),
    launched: instances.length,
  };
}

test('plan prints the batches of a RollingUpgrade manifest; dryRun writes the same into status; nothing changes', async () => {
  const group = (await world.asgs.get(world.asgName, { ttlMs: 0 }))!;
  const zoneOf = new Map(group.Instances!.map((i) => [i.InstanceId!, i.AvailabilityZone!]));
  const zones = new Set(zoneOf.values());
  expect(zones.size).toBe(3); // moto (as patched by testkit) spreads the group over its three subnets
  const version = await newLaunchTemplateVersion(world);
  const before = await snapshot();

  const spec = {
    asgName: world.asgName,
    strategy: { type: 'uniformAcrossAzUpdate' as const, mode: 'lazy' as const, maxUnavailable: 2 },
  };
  const manifest = `/tmp/${uniqueName('ru')}.json`;
  writeFileSync(
    manifest,
    JSON.stringify({
      apiVersion: 'upgrademgr.keikoproj.io/v1alpha1',
      kind: 'RollingUpgrade',
      metadata: { name: 'plan', namespace: world.namespace },
      spec,
    }),
  );
  const json = await runPlan(['-f', manifest, '--output', 'json']);
  expect(json.stderr).toBe('');
  expect(json.code).toBe(0);
  const plan = JSON.parse(json.stdout) as PlanOutput;
  expect(plan).toMatchObject({
    asgName: world.asgName,
    desiredCapacity: 6,
    settings: { mode: 'lazy', type: 'uniformAcrossAzUpdate', maxUnavailable: 2 },
  });
  expect(plan.drifted.map((d) => d.instanceId).sort()).toEqual([...zoneOf.keys()].sort());
  for (const d of plan.drifted) expect(d.reason).toBe(`launch template version 1 differs from ${version}`);
  // Three batches of two covering every instance once; each batch in two zones; zones stay balanced.
  expect(plan.batches.map((b) => b.length)).toEqual([2, 2, 2]);
  expect(
    plan.batches
      .flat()
      .map((b) => b.instanceId)
      .sort(),
  ).toEqual([...zoneOf.keys()].sort());
  const replaced = new Map([...zones].map((z) => [z, 0]));
  for (const batch of plan.batches) {
    expect(new Set(batch.map((b) => b.availabilityZone)).size).toBe(2);
    for (const b of batch) {
      expect(b.availabilityZone).toBe(zoneOf.get(b.instanceId));
      expect(b.nodeName).toMatch(/^ip-/);
      replaced.set(b.availabilityZone, replaced.get(b.availabilityZone)! + 1);
    }
    expect(Math.max(...replaced.values()) - Math.min(...replaced.values())).toBeLessThanOrEqual(1);
  }

  // The same from flags, as text.
  const text = await runPlan([
    '--asg',
    world.asgName,
    '--type',
    'uniformAcrossAzUpdate',
    '--max-unavailable',
    '2',
  ]);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain('6 instances to replace in 3 batches');
  for (const [i, batch] of plan.batches.entries())
    for (const b of batch) expect(text.stdout.split('batch ')[i + 1]).toContain(b.instanceId);
  // Bad input names the flag; a missing ASG is an error.
  const bad = await runPlan(['--asg', world.asgName, '--mode', 'fast']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--mode must be lazy or eager');
  const missing = await runPlan(['--asg', `${world.asgName}-nope`]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('does not exist');

  // spec.dryRun: the controller writes the same batches into status.plan.
  await createRollingUpgrade(world, 'dry', { ...spec, dryRun: true });
  const dry = await waitFor(
    async () => {
      const ru = await getRollingUpgrade(world, 'dry');
      return ru.status?.plan && ru;
    },
    { timeoutMs: 30_000, intervalMs: 250, description: 'status.plan' },
  );
  expect(dry.status!.plan).toEqual(plan.batches.map((b) => b.map((x) => x.instanceId)));
  expect(dry.status!.conditions!.find((c) => c.type === 'Ready')).toMatchObject({
    status: 'False',
    reason: 'DryRun',
  });
  await new Promise((r) => setTimeout(r, 2000));
  expect(await snapshot()).toEqual(before);
  expect((await getRollingUpgrade(world, 'dry')).status?.instances).toBeUndefined();
}, 120_000);
