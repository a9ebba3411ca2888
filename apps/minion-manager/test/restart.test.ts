/**
 * Restarts lose nothing: the controller is stopped in the middle of a drain (a PDB blocks it), and a new
 * one resumes the very instance it had started on (the group's `replacing` tag and the cordon survive),
 * keeps the decision time it had written, and never has two instances down at once across the restart.
 * AWS mocking in-process as in support.ts (prices, spot lifecycle: moto cannot do them).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { KubeClient, type Resource } from '@keiko/operator-kit';
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

const PDBS: Resource = {
  group: 'policy',
  version: 'v1',
  plural: 'poddisruptionbudgets',
  kind: 'PodDisruptionBudget',
  namespaced: true,
};
const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const policy = kc.makeApiClient(PolicyV1Api);
let env: TestEnv;
let ns: string;
let group: string;
const shim = new AwsShim();

beforeAll(async () => {
  env = await testEnv('mm-restart');
  ns = await createTestNamespace(kc, 'mm-restart');
  group = `${env.account.clusterName}-workers`;
  await createGroup(env, { name: group, desired: 3, pool: 'restart', tags: { [TAG.mode]: 'use-spot' } });
  await waitForGroupNodes(env, group, 3);
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'app' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'app' } },
        template: {
          metadata: { labels: { app: 'app' } },
          spec: {
            nodeSelector: { 'keiko.dev/pool': 'restart' },
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'ScheduleAnyway',
                labelSelector: { matchLabels: { app: 'app' } },
              },
            ],
            containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
          },
        },
      },
    },
  });
  // No disruption allowed at first: the first drain blocks until the PDB is relaxed.
  await policy.createNamespacedPodDisruptionBudget({
    namespace: ns,
    body: { metadata: { name: 'app' }, spec: { minAvailable: 3, selector: { matchLabels: { app: 'app' } } } },
  });
  await waitFor(
    async () =>
      (await core.listNamespacedPod({ namespace: ns })).items.filter((p) => p.status?.phase === 'Running')
        .length === 3,
    { description: '3 running pods', timeoutMs: 120_000 },
  );
  shim.setSpot(['m5.large'], [ZONE_OF_FIRST_SUBNET(env.account)], 0.02);
}, 240_000);

afterAll(async () => {
  await env?.sim.stop();
  env?.aws.destroy();
});

async function groupNodes() {
  const g = await groupNow(env, group);
  const ids = new Set((g.Instances ?? []).map((i) => i.InstanceId));
  return {
    g,
    nodes: (await core.listNode()).items.filter((n) => ids.has(n.spec?.providerID?.split('/').pop())),
  };
}

test('a controller stopped mid-drain is resumed by the next one on the same instance', async () => {
  const original = ((await groupNow(env, group)).Instances ?? []).map((i) => i.InstanceId as string);
  shim.markOnDemand(original);
  const gone: string[] = [];
  const invariants = sampler(100, async () => {
    const { g, nodes } = await groupNodes();
    const present = (g.Instances ?? []).map((i) => i.InstanceId as string);
    for (const id of original) if (!present.includes(id) && !gone.includes(id)) gone.push(id);
    const cordoned = nodes.filter((n) => n.spec?.unschedulable).length;
    const available = nodes.filter(
      (n) =>
        !n.spec?.unschedulable &&
        n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    ).length;
    if (cordoned > 1) return `${cordoned} nodes cordoned`;
    if (available < 2) return `${available} nodes available`;
    return undefined;
  });

  const first = await startController(env, shim, ns, [], 300);
  let victim: string;
  let since: string | undefined;
  try {
    victim = await waitFor(
      async () => {
        const { g, nodes } = await groupNodes();
        const replacing = tagsOf(g.Tags)[TAG.replacing];
        return replacing && nodes.some((n) => n.spec?.unschedulable) && replacing;
      },
      {
        description: 'a replacement under way (tag written, node cordoned)',
        timeoutMs: 120_000,
        intervalMs: 200,
      },
    );
    since = tagsOf((await groupNow(env, group)).Tags)[TAG.marketSince];
  } finally {
    await first.stop();
  }
  // Instances without pods may have been replaced before the blocked one: the victim comes next.
  const goneBeforeRestart = gone.length;
  // Stopped mid-drain: the intent and the cordon are still there, the instance too.
  const { g: afterStop, nodes: nodesAfterStop } = await groupNodes();
  expect(tagsOf(afterStop.Tags)[TAG.replacing]).toBe(victim);
  expect((afterStop.Instances ?? []).map((i) => i.InstanceId)).toContain(victim);
  const cordoned = nodesAfterStop.filter((n) => n.spec?.unschedulable);
  expect(cordoned.map((n) => n.spec?.providerID?.split('/').pop())).toEqual([victim]);

  const second = await startController(env, shim, ns);
  try {
    const kube = await KubeClient.fromKubeConfig(kc, 'minion-manager-test');
    await kube.patch(PDBS, 'app', ns, { spec: { minAvailable: 2 } });
    kube.transport.close();
    await waitFor(
      async () => {
        const g = await groupNow(env, group);
        const ids = (g.Instances ?? []).map((i) => i.InstanceId as string);
        return (
          ids.length === 3 &&
          ids.every((id) => shim.lifecycle.get(id) === 'spot') &&
          !tagsOf(g.Tags)[TAG.replacing]
        );
      },
      { description: 'every instance replaced by spot', timeoutMs: 180_000, intervalMs: 300 },
    );
    await waitForGroupNodes(env, group, 3);
    // The decision was not taken again after the restart.
    expect(tagsOf((await groupNow(env, group)).Tags)[TAG.marketSince]).toBe(since);
  } finally {
    await second.stop();
    await invariants.stop();
  }
  expect(gone[goneBeforeRestart]).toBe(victim);
  expect(gone.sort()).toEqual([...original].sort());
  expect(invariants.violations).toEqual([]);
}, 480_000);
