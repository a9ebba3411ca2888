/** Shared set-up of the integration tests: an in-process run context against the shared control plane. */
import { AwsClients } from '@keiko/aws-kit';
import { KubeClient, Recorder, silentLogger } from '@keiko/operator-kit';
import {
  createTestAwsAccount,
  type TestAwsAccount,
  testKubeConfig,
  uniqueName,
  waitFor,
} from '@keiko/testkit';
import { type Node, Resources } from '../src/kube.js';
import { readyStatus } from '../src/node/planner.js';
import type { RunContext } from '../src/run/context.js';
import { RunMetrics } from '../src/run/metrics.js';

export const kc = testKubeConfig();

export async function kubeClient(): Promise<KubeClient> {
  return KubeClient.fromKubeConfig(kc, 'governor-test');
}

/**
 * A run context whose clock runs `offsetMinutes` ahead of the wall clock (so "Unknown for 11 minutes"
 * needs no waiting) and whose sleep only records the throttle it was asked for.
 */
export function runContext(
  client: KubeClient,
  options: { aws?: AwsClients; offsetMinutes?: number; reaper?: string } = {},
): RunContext & { sleeps: number[] } {
  const sleeps: number[] = [];
  const offset = (options.offsetMinutes ?? 0) * 60_000;
  return {
    client,
    ...(options.aws ? { aws: options.aws } : {}),
    now: () => new Date(Date.now() + offset),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    recorder: new Recorder(client, 'keikoproj.io/governor', 'test'),
    log: silentLogger(),
    metrics: new RunMetrics(options.reaper ?? 'test'),
    sleeps,
  };
}

export async function awsAccount(prefix: string): Promise<{ account: TestAwsAccount; aws: AwsClients }> {
  const account = await createTestAwsAccount({ clusterName: uniqueName(prefix) });
  const aws = await AwsClients.create({ region: account.region, credentials: account.credentials });
  return { account, aws };
}

/** What kube-controller-manager does when a kubelet stops reporting, without waiting 40 s for it. */
export async function makeUnknown(c: KubeClient, name: string, sinceMinutes = 0): Promise<void> {
  await c.patch(Resources.nodes, name, undefined, {
    metadata: { annotations: { 'kwok.x-k8s.io/node': null } },
  });
  // kwok may still be finishing a heartbeat for the node it just let go: repeat until Unknown sticks.
  await waitFor(
    async () => {
      const now = new Date().toISOString();
      const since = new Date(Date.now() - sinceMinutes * 60_000).toISOString();
      await c.patch(
        Resources.nodes,
        name,
        undefined,
        {
          status: {
            conditions: [
              {
                type: 'Ready',
                status: 'Unknown',
                reason: 'NodeStatusUnknown',
                lastHeartbeatTime: now,
                lastTransitionTime: since,
              },
            ],
          },
        },
        'strategic',
        'status',
      );
      await new Promise((r) => setTimeout(r, 500));
      return readyStatus(await c.get<Node>(Resources.nodes, name)) === 'Unknown';
    },
    { description: `node ${name} to stay Unknown`, timeoutMs: 20_000 },
  );
}
