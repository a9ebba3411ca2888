/**
 * Integration on moto + the real control plane + the node simulator (kwok Nodes and pods):
 *
 * - a `use-spot` group moves to spot: its MixedInstancesPolicy goes to 0 % on-demand with
 *   price-capacity-optimized allocation, and its on-demand instances are replaced one at a time, each
 *   drained through the Eviction API under a PodDisruptionBudget (sampled throughout, not only at the end);
 * - an injected insufficient-spot-capacity failure moves it back to on-demand (and the back-off is in
 *   the group's tags);
 * - `no-spot` and `not-terminate` are honoured, a group with an active RollingUpgrade is left alone, a
 *   launch-configuration group is reported as unsupported.
 *
 * In-process AWS mocking, only for what moto cannot do (see support.ts): on-demand prices (no Pricing
 * API in moto), spot prices (moto's are flat), scaling activities (moto's are always empty) and the
 * spot lifecycle of instances launched under a spot distribution (moto launches everything on-demand).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CoreResources, KubeClient } from '@keiko/operator-kit';
import { createTestNamespace, installCrds, testKubeConfig, waitFor } from '@keiko/testkit';
import { AppsV1Api, CoreV1Api, PolicyV1Api } from '@kubernetes/client-node';
import { TAG, tagsOf } from '../src/asg/tags.js';
import { CORE_EVENTS, recommendationEventName } from '../src/controller/recommendation.js';
import { ROLLING_UPGRADES } from '../src/controller/rolling-upgrades.js';
import {
  AwsShim,
  createGroup,
  groupNow,
  insufficientSpotCapacity,
  sampler,
  startController,
  type TestEnv,
  testEnv,
  UPGRADE_MANAGER_CRD,
  waitForGroupNodes,
  ZONE_OF_FIRST_SUBNET,
} from './support.js';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
let env: TestEnv;
let ns: string;
let kube: KubeClient;
const shim = new AwsShim();
let names: { spot: string; nospot: string; keep: string; upgrading: string; lc: string };

beforeAll(async () => {
  env = await testEnv('mm-steer');
  ns = await createTestNamespace(kc, 'mm-steer');
  kube = await KubeClient.fromKubeConfig(kc, 'minion-manager-test');
  await installCrds(kc, UPGRADE_MANAGER_CRD);
  const c = env.account.clusterName;
  names = {
    spot: `${c}-spot`,
    nospot: `${c}-nospot`,
    keep: `${c}-keep`,
    upgrading: `${c}-upgrading`,
    lc: `${c}-lc`,
  };
  await Promise.all([
    // Upstream's kops cluster tag on this one; the EKS cluster tag (set by createGroup) on all.
    createGroup(env, {
      name: names.spot,
      desired: 3,
      pool: 'spot',
      tags: { [TAG.mode]: 'use-spot', KubernetesCluster: c },
    }),
    createGroup(env, { name: names.nospot, desired: 1, mixed: true, tags: { [TAG.mode]: 'no-spot' } }),
    createGroup(env, {
      name: names.keep,
      desired: 2,
      tags: { [TAG.mode]: 'Use-Spot', [TAG.notTerminate]: 'true', [TAG.maxUnavailable]: 'two' },
    }),
    createGroup(env, { name: names.upgrading, desired: 1, tags: { [TAG.mode]: 'use-spot' } }),
    createGroup(env, {
      name: names.lc,
      desired: 0,
      launchConfiguration: true,
      tags: { [TAG.mode]: 'use-spot' },
    }),
  ]);
  await Promise.all([
    waitForGroupNodes(env, names.spot, 3),
    waitForGroupNodes(env, names.nospot, 1),
    waitForGroupNodes(env, names.keep, 2),
    waitForGroupNodes(env, names.upgrading, 1),
  ]);
  // Three replicas on the spot group's Nodes, spread, and a PDB that allows one disruption.
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            nodeSelector: { 'keiko.dev/pool': 'spot' },
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'ScheduleAnyway',
                labelSelector: { matchLabels: { app: 'web' } },
              },
            ],
            containers: [{ name: 'web', image: 'registry.k8s.io/pause:3.10' }],
          },
        },
      },
    },
  });
  await kc.makeApiClient(PolicyV1Api).createNamespacedPodDisruptionBudget({
    namespace: ns,
    body: { metadata: { name: 'web' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } } },
  });
  await waitFor(async () => (await readyWebPods()).length === 3, {
    description: '3 Ready web pods',
    timeoutMs: 120_000,
  });
  // An upstream-style RollingUpgrade (upgrade-manager's CRD) in progress for one group.
  await kube.create(ROLLING_UPGRADES, {
    apiVersion: 'upgrademgr.keikoproj.io/v1alpha1',
    kind: 'RollingUpgrade',
    metadata: { name: 'roll-upgrading', namespace: ns },
    spec: { asgName: names.upgrading, strategy: { type: 'randomUpdate', mode: 'eager' } },
  } as never);
  shim.setSpot(['m5.large'], [ZONE_OF_FIRST_SUBNET(env.account)], 0.03);
}, 300_000);

afterAll(async () => {
  await env?.sim.stop();
  env?.aws.destroy();
  kube?.transport.close();
});

async function readyWebPods() {
  const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
  return pods.items.filter(
    (p) =>
      !p.metadata?.deletionTimestamp &&
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
}

/** The spot group's state: nodes available (Ready and schedulable) and cordoned. */
async function spotGroupAvailability() {
  const g = await groupNow(env, names.spot);
  const ids = new Set(
    (g.Instances ?? []).filter((i) => i.LifecycleState === 'InService').map((i) => i.InstanceId),
  );
  const nodes = (await core.listNode()).items.filter((n) => ids.has(n.spec?.providerID?.split('/').pop()));
  const ready = nodes.filter((n) =>
    n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
  return {
    available: ready.filter((n) => !n.spec?.unschedulable).length,
    cordoned: nodes.filter((n) => n.spec?.unschedulable).length,
  };
}

const distribution = async (name: string) =>
  (await groupNow(env, name)).MixedInstancesPolicy?.InstancesDistribution;
const instanceIds = async (name: string) =>
  ((await groupNow(env, name)).Instances ?? []).map((i) => i.InstanceId as string).sort();
const statusOf = async (name: string) => {
  const cm = await kube.get<{ data?: Record<string, string> } & import('@keiko/operator-kit').KubeObject>(
    CoreResources.configMaps,
    'minion-manager-status',
    ns,
  );
  return JSON.parse(cm.data?.[name] ?? '{}') as Record<string, unknown>;
};
const recommendation = async (name: string) => {
  const ev = await kube.get<
    {
      message?: string;
      reason?: string;
      involvedObject?: { kind?: string; name?: string };
    } & import('@keiko/operator-kit').KubeObject
  >(CORE_EVENTS, recommendationEventName(name), ns);
  return { ...ev, payload: JSON.parse(ev.message ?? '{}') };
};

test('use-spot moves to spot one drained instance at a time, a capacity failure moves it back; no-spot, not-terminate, RollingUpgrade and launch configurations are honoured', async () => {
  const original = {
    spot: await instanceIds(names.spot),
    nospot: await instanceIds(names.nospot),
    keep: await instanceIds(names.keep),
    upgrading: await instanceIds(names.upgrading),
  };
  for (const ids of Object.values(original)) shim.markOnDemand(ids);
  let minReadyPods = 3;
  let maxCordoned = 0;
  let minAvailable = 3;
  const invariants = sampler(100, async () => {
    const [{ available, cordoned }, pods] = await Promise.all([spotGroupAvailability(), readyWebPods()]);
    minReadyPods = Math.min(minReadyPods, pods.length);
    maxCordoned = Math.max(maxCordoned, cordoned);
    minAvailable = Math.min(minAvailable, available);
    if (pods.length < 2) return `only ${pods.length} web pods Ready (PDB minAvailable 2)`;
    if (cordoned > 1) return `${cordoned} nodes cordoned at once`;
    if (available < 2) return `only ${available} of 3 nodes available`;
    return undefined;
  });
  const controller = await startController(env, shim, ns);
  try {
    // Phase 1: to spot.
    const onSpot = await waitFor(
      async () => {
        const ids = await instanceIds(names.spot);
        const d = await distribution(names.spot);
        const g = await groupNow(env, names.spot);
        const done =
          d?.OnDemandPercentageAboveBaseCapacity === 0 &&
          ids.length === 3 &&
          ids.every((id) => shim.lifecycle.get(id) === 'spot') &&
          !tagsOf(g.Tags)[TAG.replacing];
        return done && ids;
      },
      {
        description: 'the use-spot group on spot, every instance replaced',
        timeoutMs: 180_000,
        intervalMs: 300,
      },
    );
    await waitForGroupNodes(env, names.spot, 3);
    expect(onSpot.some((id) => original.spot.includes(id))).toBe(false);
    const spotGroup = await groupNow(env, names.spot);
    expect(spotGroup.MixedInstancesPolicy?.InstancesDistribution).toMatchObject({
      OnDemandPercentageAboveBaseCapacity: 0,
      OnDemandBaseCapacity: 0,
      SpotAllocationStrategy: 'price-capacity-optimized',
    });
    expect(spotGroup.CapacityRebalance).toBe(true);
    // Settled: cycles that decide the same market write no policy again (once rewritten every cycle,
    // when moto dropped CapacityRebalance and the policy never read as already applied).
    const updatesWhenSettled = shim.updates.get(names.spot) ?? 0;
    expect(updatesWhenSettled).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 3_500)); // three more 1 s cycles
    expect(shim.updates.get(names.spot) ?? 0).toBe(updatesWhenSettled);
    expect(tagsOf(spotGroup.Tags)[TAG.market]).toBe('spot');
    // The pods moved off the terminated nodes through evictions, never below the PDB.
    expect(minReadyPods).toBeGreaterThanOrEqual(2);
    expect(maxCordoned).toBe(1);
    expect(await controller.metrics.replacements.get()).toMatchObject({
      values: expect.arrayContaining([
        expect.objectContaining({ labels: { asg: names.spot, result: 'terminated' }, value: 3 }),
      ]),
    });
    const rec = await recommendation(names.spot);
    expect(rec.reason).toBe('SpotRecommendationGiven');
    expect(rec.involvedObject).toMatchObject({ kind: 'SpotPriceInfo', name: names.spot });
    expect(rec.payload).toEqual({
      apiVersion: 'v1alpha1',
      spotPrice: '0.096',
      useSpot: true,
      recommendation: 'spot',
    });
    expect(await statusOf(names.spot)).toMatchObject({
      mode: 'use-spot',
      market: 'spot',
      reason: 'SpotCheap',
      instances: { spot: 3, onDemand: 0 },
    });

    // no-spot: stays on-demand, nothing replaced.
    expect((await distribution(names.nospot))?.OnDemandPercentageAboveBaseCapacity).toBe(100);
    expect(await instanceIds(names.nospot)).toEqual(original.nospot);
    expect((await recommendation(names.nospot)).payload).toMatchObject({
      useSpot: false,
      spotPrice: '',
      recommendation: 'on-demand',
    });
    // not-terminate: the policy goes to spot, the instances stay.
    expect((await distribution(names.keep))?.OnDemandPercentageAboveBaseCapacity).toBe(0);
    expect(await instanceIds(names.keep)).toEqual(original.keep);
    expect(await statusOf(names.keep)).toMatchObject({
      market: 'spot',
      skipped: `${TAG.notTerminate}: instances are not replaced`,
    });
    // Active RollingUpgrade: nothing touched (still a plain launch template, no state tags).
    const upgrading = await groupNow(env, names.upgrading);
    expect(upgrading.MixedInstancesPolicy).toBeUndefined();
    expect(tagsOf(upgrading.Tags)[TAG.market]).toBeUndefined();
    expect(await instanceIds(names.upgrading)).toEqual(original.upgrading);
    expect(await statusOf(names.upgrading)).toMatchObject({ skipped: 'a RollingUpgrade is in progress' });
    // Launch configuration: reported, with an event.
    expect(await statusOf(names.lc)).toMatchObject({ reason: 'Unsupported' });
    const events = await kube.list<
      { reason?: string; regarding?: { name?: string } } & import('@keiko/operator-kit').KubeObject
    >(CoreResources.events, { namespace: ns });
    expect(
      events.items.some(
        (e) => e.reason === 'LaunchConfigurationUnsupported' && e.regarding?.name === names.lc,
      ),
    ).toBe(true);
    // A policy tag that does not parse is reported, naming the tag; the default is used.
    expect(
      events.items.some(
        (e) =>
          e.reason === 'InvalidPolicyTag' &&
          e.regarding?.name === names.keep &&
          String((e as { note?: string }).note).includes(TAG.maxUnavailable),
      ),
    ).toBe(true);

    // Phase 2: spot capacity runs out in the group's zone.
    const zone = ZONE_OF_FIRST_SUBNET(env.account);
    shim.activities.set(names.spot, [insufficientSpotCapacity(names.spot, zone)]);
    await waitFor(
      async () => {
        const ids = await instanceIds(names.spot);
        const d = await distribution(names.spot);
        const g = await groupNow(env, names.spot);
        return (
          d?.OnDemandPercentageAboveBaseCapacity === 100 &&
          ids.length === 3 &&
          ids.every((id) => shim.lifecycle.get(id) === 'on-demand') &&
          !tagsOf(g.Tags)[TAG.replacing]
        );
      },
      {
        description: 'the group back on on-demand after the capacity failure',
        timeoutMs: 180_000,
        intervalMs: 300,
      },
    );
    await waitForGroupNodes(env, names.spot, 3);
    const back = await groupNow(env, names.spot);
    expect(tagsOf(back.Tags)[TAG.market]).toBe('on-demand');
    expect(tagsOf(back.Tags)[TAG.capacityBackoff]).toMatch(new RegExp(`^@${zone}=\\d+/\\d+/1$`));
    expect(await statusOf(names.spot)).toMatchObject({ market: 'on-demand', reason: 'CapacityBackoff' });
    expect((await recommendation(names.spot)).payload).toMatchObject({ useSpot: false });
    // Spot is still cheap, but the back-off holds: several cycles later it has not flipped back.
    const cycles = async () =>
      (await controller.metrics.cycles.get()).values.reduce((s, v) => s + v.value, 0);
    const before = await cycles();
    await waitFor(async () => (await cycles()) >= before + 3, {
      description: '3 more cycles',
      timeoutMs: 60_000,
    });
    expect((await distribution(names.spot))?.OnDemandPercentageAboveBaseCapacity).toBe(100);
  } finally {
    await controller.stop();
    await invariants.stop();
  }
  expect(invariants.samples).toBeGreaterThan(20);
  expect(invariants.violations).toEqual([]);
  expect(minAvailable).toBe(2);
}, 480_000);
