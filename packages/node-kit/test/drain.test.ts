/**
 * Drain against the real control plane: kwok nodes, pods scheduled by kube-scheduler, ReplicaSets and
 * DaemonSets run by kube-controller-manager, PDBs enforced by the API server's eviction subresource.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { CoreResources, KubeClient, type KubeObject, type Resource } from '@keiko/operator-kit';
import {
  createTestNamespace,
  deleteTestNamespace,
  KWOK_NODE_ANNOTATION,
  KWOK_NODE_ANNOTATION_VALUE,
  testKubeConfig,
  uniqueName,
  waitFor,
} from '@keiko/testkit';
import { drainNode, type NodeObject, type Pod, uncordon } from '../src/index.js';

const Deployments: Resource = {
  group: 'apps',
  version: 'v1',
  plural: 'deployments',
  kind: 'Deployment',
  namespaced: true,
};
const DaemonSets: Resource = {
  group: 'apps',
  version: 'v1',
  plural: 'daemonsets',
  kind: 'DaemonSet',
  namespaced: true,
};
const Pdbs: Resource = {
  group: 'policy',
  version: 'v1',
  plural: 'poddisruptionbudgets',
  kind: 'PodDisruptionBudget',
  namespaced: true,
};

let client: KubeClient;
let namespace: string;
const pool = uniqueName('pool');
const nodes: string[] = [];

async function createNode(): Promise<string> {
  const name = uniqueName('drain-node');
  await client.create(CoreResources.nodes, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: KWOK_NODE_ANNOTATION_VALUE },
      labels: { 'kubernetes.io/hostname': name, 'keiko.dev/pool': pool },
    },
  });
  nodes.push(name);
  await waitFor(
    async () =>
      (
        await client.get<NodeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
          CoreResources.nodes,
          name,
        )
      ).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    { timeoutMs: 30_000, description: `node ${name} Ready` },
  );
  return name;
}

const podsOf = async (app: string) =>
  (await client.list<Pod>(CoreResources.pods, { namespace, labelSelector: `app=${app}` })).items;

const runningOn = (pods: Pod[], node?: string) =>
  pods.filter(
    (p) =>
      !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && (!node || p.spec?.nodeName === node),
  );

async function deploy(app: string, replicas: number, pdb: Record<string, unknown>) {
  await client.create(Deployments, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app } },
      template: {
        metadata: { labels: { app } },
        spec: {
          nodeSelector: { 'keiko.dev/pool': pool },
          containers: [{ name: 'c', image: 'registry.example/app:1' }],
        },
      },
    },
  } as KubeObject);
  await client.create(Pdbs, {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: app, namespace },
    spec: { selector: { matchLabels: { app } }, ...pdb },
  } as KubeObject);
  await waitFor(async () => runningOn(await podsOf(app)).length === replicas, {
    timeoutMs: 60_000,
    description: `${app}: ${replicas} pods running`,
  });
  await waitFor(
    async () =>
      (await client.get<KubeObject & { status?: { observedGeneration?: number } }>(Pdbs, app, namespace))
        .status?.observedGeneration === 1,
    { timeoutMs: 30_000, description: 'PDB status computed' },
  );
}

beforeAll(async () => {
  client = await KubeClient.fromKubeConfig(testKubeConfig(), 'node-kit-test');
  namespace = await createTestNamespace(testKubeConfig(), 'node-kit');
  await createNode();
  await createNode();
  await client.create(DaemonSets, {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: {
          nodeSelector: { 'keiko.dev/pool': pool },
          tolerations: [{ operator: 'Exists' }],
          containers: [{ name: 'c', image: 'registry.example/agent:1' }],
        },
      },
    },
  } as KubeObject);
});

afterAll(async () => {
  for (const n of nodes) await client.delete(CoreResources.nodes, n).catch(() => {});
  await deleteTestNamespace(testKubeConfig(), namespace);
  client.transport.close();
});

describe('drainNode', () => {
  test('evicts through the PDB one pod at a time, skips DaemonSet pods, never drops below the budget', async () => {
    const [a, b] = nodes as [string, string];
    await uncordon(client, b);
    await client.patch(CoreResources.nodes, b, undefined, { spec: { unschedulable: true } }); // all pods start on a
    await deploy('web', 3, { maxUnavailable: 1 });
    await uncordon(client, b);
    await waitFor(async () => runningOn(await podsOf('agent')).length === 2, {
      timeoutMs: 30_000,
      description: 'a DaemonSet pod on each node',
    });
    expect(runningOn(await podsOf('web'), a)).toHaveLength(3);

    let minRunning = Number.POSITIVE_INFINITY;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        minRunning = Math.min(minRunning, runningOn(await podsOf('web')).length);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    // The PDB must get to push back. With b cordoned, the first evicted pod's replacement stays
    // Pending, so the budget (2 of 3 healthy) has nothing left to give and the next eviction is
    // refused; b opens only once that refusal is seen. Without this the replacement can be Ready
    // (kwok is quick) before the next eviction and the PDB never has to say no.
    await client.patch(CoreResources.nodes, b, undefined, { spec: { unschedulable: true } });
    const blockedSeen: string[] = [];
    let opened: Promise<unknown> | undefined;
    const result = await drainNode(client, a, {
      evictionRetryMs: 300,
      pollMs: 200,
      timeoutMs: 60_000,
      onEviction: (pod, outcome) => {
        if (outcome !== 'blocked') return;
        blockedSeen.push(pod);
        opened ??= uncordon(client, b);
      },
    });
    sampling = false;
    await sampler;
    await opened;

    expect(result.completed).toBe(true);
    expect(result.evicted).toHaveLength(3);
    expect(result.skipped.map((s) => s.reason)).toEqual(['DaemonSetPod']);
    expect(blockedSeen.length).toBeGreaterThan(0); // the PDB did push back
    expect(minRunning).toBeGreaterThanOrEqual(2); // maxUnavailable 1 held throughout
    const node = await client.get<NodeObject>(CoreResources.nodes, a);
    expect(node.spec?.unschedulable).toBe(true);
    expect(runningOn(await podsOf('web'), b)).toHaveLength(3);
    expect(runningOn(await podsOf('agent'), a)).toHaveLength(1);
  });

  test('a PDB that allows no disruption makes a bounded drain return incomplete, naming the pods', async () => {
    const b = nodes[1] as string;
    await deploy('strict', 2, { minAvailable: 2 });
    const result = await drainNode(client, b, { evictionRetryMs: 300, pollMs: 200, timeoutMs: 2_000 });
    expect(result.completed).toBe(false);
    const strict = result.blocked.filter((x) => x.pod.startsWith(`${namespace}/strict-`));
    expect(strict).toHaveLength(2);
    for (const s of strict) expect(s.reason).toMatch(/disruption budget/i);
    expect(runningOn(await podsOf('strict'))).toHaveLength(2);
  });
});
