/**
 * A failed drain on the real control plane: one node's pod is protected by a PDB that allows no
 * disruption, so its drain times out; the other node of the same run is still drained and deleted (one
 * failure never aborts a run). The failed node gets a Warning NodeDrainFailed event, the back-off
 * annotation, and is uncordoned; the next run holds it back because of that annotation.
 *
 * Karpenter-labelled kwok nodes without an AWS providerID: no ASG is involved (the AWS clients are
 * created but no call is made).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { AwsClients } from '@keiko/aws-kit';
import type { KubeClient } from '@keiko/operator-kit';
import { createTestNamespace, uniqueName, waitFor } from '@keiko/testkit';
import { parseConfig } from '../src/config.js';
import { type Node, type Pod, Resources } from '../src/kube.js';
import { runReaper } from '../src/run/run.js';
import { awsAccount, kc, kubeClient, runContext } from './support.js';

let aws: AwsClients;
let client: KubeClient;
let namespace: string;

beforeAll(async () => {
  ({ aws } = await awsAccount('gov-drain'));
  client = await kubeClient();
  namespace = await createTestNamespace(kc, 'gov-drain');
});
afterAll(() => {
  aws?.destroy();
  client?.transport.close();
});

test('a drain blocked by a PDB fails alone: event, back-off annotation, uncordon; the run goes on', async () => {
  const pool = uniqueName('pool');
  const [blocked, free] = [uniqueName('blocked-node'), uniqueName('free-node')];
  for (const name of [blocked, free]) {
    await client.create<Node>(Resources.nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: { 'keiko.dev/pool': pool, 'karpenter.sh/registered': 'true', 'karpenter.sh/nodepool': name },
        annotations: { 'kwok.x-k8s.io/node': 'fake' },
      },
      spec: { taints: [{ key: 'keiko.dev/broken', effect: 'NoSchedule' }] },
    });
  }
  await client.create<Pod>(Resources.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'guarded', namespace, labels: { app: 'guarded' } },
    spec: { nodeName: blocked, containers: [{ name: 'app', image: 'app' }] },
  } as Pod);
  await client.create(Resources.pdbs, {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'guarded', namespace },
    spec: { minAvailable: 1, selector: { matchLabels: { app: 'guarded' } } },
  });
  await waitFor(
    async () => (await client.get<Pod>(Resources.pods, 'guarded', namespace)).status?.phase === 'Running',
    {
      description: 'the guarded pod to run',
    },
  );

  const argv = [
    `--node-selector=keiko.dev/pool=${pool}`,
    '--reap-tainted=keiko.dev/broken',
    `--lock-namespace=${namespace}`,
    '--max-kill-nodes=2',
    '--max-kill-percent=100',
    '--drain-timeout=3',
    '--reap-throttle=0',
  ];
  const report = await runReaper('node', parseConfig('node', { argv, env: {} }), runContext(client, { aws }));
  expect(report.results.map((r) => [r.target, r.outcome]).sort()).toEqual(
    [
      [blocked, 'failed'],
      [free, 'done'],
    ].sort(),
  );
  expect(await client.getOrUndefined(Resources.nodes, free)).toBeUndefined();
  const failed = await client.get<Node>(Resources.nodes, blocked);
  expect(failed.spec?.unschedulable ?? false).toBe(false);
  expect(
    Date.parse(failed.metadata.annotations?.['governor.keikoproj.io/age-unreapable'] ?? ''),
  ).not.toBeNaN();
  expect(failed.metadata.annotations?.['governor.keikoproj.io/state']).toBeUndefined();
  expect(await client.getOrUndefined(Resources.pods, 'guarded', namespace)).toBeDefined();
  type Ev = {
    metadata: { name: string };
    reason?: string;
    type?: string;
    regarding?: { kind?: string; name?: string };
  };
  const events = (await client.list<Ev>(Resources.events, { namespace: 'default' })).items;
  expect(
    events.some(
      (e) =>
        e.reason === 'NodeDrainFailed' &&
        e.type === 'Warning' &&
        e.regarding?.kind === 'Node' &&
        e.regarding.name === blocked,
    ),
  ).toBe(true);

  // The next run holds the node back (the back-off lives on the Node, not in memory).
  const next = await runReaper('node', parseConfig('node', { argv, env: {} }), runContext(client, { aws }));
  expect(next.actions).toEqual([]);
  expect(next.skipped).toEqual([
    expect.objectContaining({ target: blocked, why: expect.stringMatching(/drain failed recently/) }),
  ]);
});
