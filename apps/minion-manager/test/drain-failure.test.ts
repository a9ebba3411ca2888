/**
 * Never terminate after a failed drain: a PDB that allows no disruption blocks the drain past its
 * timeout; the Node is uncordoned, the instance stays in the group, the `replacing` tag is cleared,
 * and a DrainFailed Warning names the blocking pod. Sampled throughout: no instance ever leaves.
 * AWS mocking in-process as in support.ts (prices, spot lifecycle: moto cannot do them).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CoreResources, KubeClient, type KubeObject } from '@keiko/operator-kit';
import { createTestNamespace, testKubeConfig, waitFor } from '@keiko/testkit';
import { AppsV1Api, CoreV1Api, PolicyV1Api } from '@kubernetes/client-node';
import { TAG, tagsOf } from '../src/asg/tags.js';
import {
  AwsShim,
  createGroup,
  groupNow,
  sampler,
  startController,
  type TestEnv,
  testEnv,
  waitForGroupNodes,
  ZONE_OF_FIRST_SUBNET,
} from './support.js';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
let env: TestEnv;
let ns: string;
let kube: KubeClient;
let group: string;
const shim = new AwsShim();

beforeAll(async () => {
  env = await testEnv('mm-drainfail');
  ns = await createTestNamespace(kc, 'mm-drainfail');
  kube = await KubeClient.fromKubeConfig(kc, 'minion-manager-test');
  group = `${env.account.clusterName}-workers`;
  await createGroup(env, { name: group, desired: 2, pool: 'stuck', tags: { [TAG.mode]: 'use-spot' } });
  await waitForGroupNodes(env, group, 2);
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'stuck' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'stuck' } },
        template: {
          metadata: { labels: { app: 'stuck' } },
          spec: {
            nodeSelector: { 'keiko.dev/pool': 'stuck' },
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'DoNotSchedule',
                labelSelector: { matchLabels: { app: 'stuck' } },
              },
            ],
            containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }],
          },
        },
      },
    },
  });
  await kc.makeApiClient(PolicyV1Api).createNamespacedPodDisruptionBudget({
    namespace: ns,
    body: {
      metadata: { name: 'stuck' },
      spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'stuck' } } },
    },
  });
  await waitFor(
    async () =>
      (await core.listNamespacedPod({ namespace: ns })).items.filter((p) => p.status?.phase === 'Running')
        .length === 2,
    { description: '2 running pods', timeoutMs: 120_000 },
  );
  shim.setSpot(['m5.large'], [ZONE_OF_FIRST_SUBNET(env.account)], 0.02);
}, 240_000);

afterAll(async () => {
  await env?.sim.stop();
  env?.aws.destroy();
  kube?.transport.close();
});

test('a drain blocked past its timeout uncordons and keeps the instance', async () => {
  const original = ((await groupNow(env, group)).Instances ?? []).map((i) => i.InstanceId as string).sort();
  shim.markOnDemand(original);
  const terminated = sampler(100, async () => {
    const ids = ((await groupNow(env, group)).Instances ?? []).map((i) => i.InstanceId as string).sort();
    return ids.join() === original.join() ? undefined : `instances changed: ${ids.join()}`;
  });
  // One cycle, then a long pause: the state after the failed drain is observable before any retry.
  const controller = await startController(env, shim, ns, [
    '--drain-timeout-seconds',
    '2',
    '--refresh-interval-seconds',
    '600',
    '--replacement-poll-seconds',
    '600',
  ]);
  try {
    const failed = await waitFor(
      async () => {
        const events = await kube.list<KubeObject & { reason?: string; note?: string }>(
          CoreResources.events,
          {
            namespace: ns,
          },
        );
        return events.items.find((e) => e.reason === 'DrainFailed');
      },
      { description: 'a DrainFailed event', timeoutMs: 120_000, intervalMs: 250 },
    );
    expect(failed.note).toMatch(/stuck-.*Cannot evict pod|stuck-.*disruption budget/i);
    await waitFor(async () => !tagsOf((await groupNow(env, group)).Tags)[TAG.replacing], {
      description: 'the replacing tag cleared',
      timeoutMs: 10_000,
    });
    const nodes = (await core.listNode()).items.filter((n) =>
      original.includes(n.spec?.providerID?.split('/').pop() as string),
    );
    expect(nodes).toHaveLength(2);
    expect(nodes.every((n) => !n.spec?.unschedulable)).toBe(true);
    const values = (await controller.metrics.replacements.get()).values;
    expect(values.find((v) => v.labels.result === 'drain_failed')?.value).toBe(1);
    expect(values.find((v) => v.labels.result === 'terminated')).toBeUndefined();
    // The policy did move to spot: only the instance replacement is held back.
    expect(
      (await groupNow(env, group)).MixedInstancesPolicy?.InstancesDistribution
        ?.OnDemandPercentageAboveBaseCapacity,
    ).toBe(0);
  } finally {
    await controller.stop();
    await terminated.stop();
  }
  expect(terminated.samples).toBeGreaterThan(10);
  expect(terminated.violations).toEqual([]);
}, 300_000);
