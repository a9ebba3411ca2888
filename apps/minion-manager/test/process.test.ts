/**
 * The built controller (dist/main.js) as a child process, authenticated as the chart's ServiceAccount
 * (testkit chartIdentity applies exactly the chart's RBAC), against moto and the real API server, with
 * no in-process mocking at all: moto's flat spot price ($0.00001) and the bundled on-demand table
 * (moto has no Pricing API, so the controller falls back to it) make spot the recommendation.
 *
 * It proves the chart's permissions cover a whole run: leader Lease, status ConfigMap, Nodes (cordon),
 * Pods (list, evict), RollingUpgrades (list), core and events.k8s.io Events; and that the process stops
 * cleanly on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AttachInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { Ec2 } from '@keiko/aws-kit';
import { CoreResources, KubeClient, type KubeObject } from '@keiko/operator-kit';
import {
  chartIdentity,
  createTestNamespace,
  freePort,
  installCrds,
  testKubeConfig,
  waitFor,
} from '@keiko/testkit';
import { TAG, tagsOf } from '../src/asg/tags.js';
import { CORE_EVENTS, recommendationEventName } from '../src/controller/recommendation.js';
import {
  createGroup,
  groupNow,
  type TestEnv,
  testEnv,
  UPGRADE_MANAGER_CRD,
  waitForGroupNodes,
} from './support.js';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = join(here, '..', 'dist', 'main.js');
const CHART = join(here, '..', '..', '..', 'deploy', 'charts', 'minion-manager');
const kc = testKubeConfig();
let env: TestEnv;
let ns: string;
let kube: KubeClient;
let child: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  if (!existsSync(MAIN))
    throw new Error(`${MAIN} is missing: run pnpm --filter @keiko/minion-manager build first`);
  env = await testEnv('mm-proc');
  ns = await createTestNamespace(kc, 'mm-proc');
  kube = await KubeClient.fromKubeConfig(kc, 'minion-manager-test');
  await installCrds(kc, UPGRADE_MANAGER_CRD);
}, 240_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await env?.sim.stop();
  env?.aws.destroy();
  kube?.transport.close();
});

test('dist/main.js under the chart RBAC steers groups, drains and terminates, and stops on SIGTERM', async () => {
  const c = env.account.clusterName;
  const steady = `${c}-steady`;
  const od = `${c}-od`;
  await createGroup(env, {
    name: steady,
    desired: 1,
    tags: { [TAG.mode]: 'use-spot', [TAG.notTerminate]: 'true' },
  });
  await createGroup(env, { name: od, desired: 1, pool: 'od', tags: { [TAG.mode]: 'no-spot' } });
  // A spot instance (moto marks RunInstances with spot market options as spot) in the no-spot group.
  const lt = (await groupNow(env, od)).LaunchTemplate;
  const run = await env.aws.ec2.send(
    new RunInstancesCommand({
      MinCount: 1,
      MaxCount: 1,
      LaunchTemplate: { LaunchTemplateId: lt?.LaunchTemplateId, Version: '$Latest' },
      SubnetId: env.account.subnets[0]?.subnetId,
      InstanceMarketOptions: { MarketType: 'spot' },
      TagSpecifications: [
        { ResourceType: 'instance', Tags: [{ Key: env.account.clusterTagKey, Value: 'owned' }] },
      ],
    }),
  );
  const spotId = run.Instances?.[0]?.InstanceId as string;
  expect((await new Ec2(env.aws).instances([spotId]))[0]?.InstanceLifecycle).toBe('spot');
  await env.aws.autoScaling.send(
    new AttachInstancesCommand({ AutoScalingGroupName: od, InstanceIds: [spotId] }),
  );
  await waitForGroupNodes(env, steady, 1);
  await waitForGroupNodes(env, od, 2);

  const id = await chartIdentity(kc, CHART, {
    releaseName: 'minion-manager',
    namespace: ns,
    values: { clusterName: c },
  });
  const opsPort = await freePort();
  child = spawn(
    process.execPath,
    [
      MAIN,
      `--cluster-name=${c}`,
      '--refresh-interval-seconds=1',
      '--replacement-poll-seconds=0.5',
      '--min-dwell-seconds=0',
      '--eviction-retry-seconds=0.5',
      `--ops-port=${opsPort}`,
      '--leader-elect',
      '--log-level=info',
    ],
    {
      env: { PATH: process.env.PATH, ...env.account.env(), KUBECONFIG: id.kubeconfigPath, POD_NAMESPACE: ns },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));

  // use-spot + not-terminate: the policy goes to spot; nothing is terminated.
  await waitFor(
    async () =>
      (await groupNow(env, steady)).MixedInstancesPolicy?.InstancesDistribution
        ?.OnDemandPercentageAboveBaseCapacity === 0,
    {
      description: 'the use-spot group on spot',
      timeoutMs: 120_000,
    },
  );
  // no-spot: the spot instance is drained and terminated; the group replaces it on-demand.
  await waitFor(
    async () => {
      const ids = ((await groupNow(env, od)).Instances ?? []).map((i) => i.InstanceId as string);
      if (ids.length !== 2 || ids.includes(spotId)) return false;
      return (await new Ec2(env.aws).instances(ids, { ttlMs: 0 })).every(
        (i) => i.InstanceLifecycle !== 'spot',
      );
    },
    { description: 'the spot instance replaced in the no-spot group', timeoutMs: 180_000, intervalMs: 300 },
  );
  expect(output).toContain('"msg":"draining node"');
  expect(tagsOf((await groupNow(env, steady)).Tags)[TAG.market]).toBe('spot');
  const lease = await kube.get<KubeObject & { spec?: { holderIdentity?: string } }>(
    CoreResources.leases,
    'minion-manager-leader',
    ns,
  );
  expect(lease.spec?.holderIdentity).toBeTruthy();
  const status = await kube.get<KubeObject & { data?: Record<string, string> }>(
    CoreResources.configMaps,
    'minion-manager-status',
    ns,
  );
  expect(Object.keys(status.data ?? {}).sort()).toEqual([od, steady].sort());
  const rec = await kube.get<KubeObject & { message?: string }>(
    CORE_EVENTS,
    recommendationEventName(steady),
    ns,
  );
  expect(JSON.parse(rec.message ?? '{}')).toMatchObject({
    apiVersion: 'v1alpha1',
    useSpot: true,
    spotPrice: '0.096',
  });
  const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  expect(metrics).toContain(`minion_manager_decision{asg="${steady}",market="spot"} 1`);
  expect(metrics).toContain(`minion_manager_replacements_total{asg="${od}",result="terminated"} 1`);
  expect(metrics).toMatch(
    /controller_runtime_reconcile_total\{controller="minion-manager",result="requeue_after"\} [1-9]/,
  );
  expect((await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status).toBe(200);
  // Nothing was refused by RBAC.
  expect(output).not.toMatch(/forbidden/i);

  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  child = undefined;
  const released = await kube.get<KubeObject & { spec?: { holderIdentity?: string } }>(
    CoreResources.leases,
    'minion-manager-leader',
    ns,
  );
  expect(released.spec?.holderIdentity ?? '').toBe('');
}, 300_000);
