/**
 * node-reaper on the real control plane + moto + node simulator, in-process with an injected clock:
 *
 * - the same fixtures (a node whose Ready went Unknown, a node whose instance was terminated out of
 *   band, a node whose instance EC2 no longer knows) first through `--dry-run`: a plan, and nothing
 *   changes (nodes, ASG, instances, no Lease);
 * - then for real: the Unknown node is cordoned and drained (its pod evicted) and its instance is
 *   terminated in the ASG, which launches a replacement that becomes a Ready Node; the two ghosts'
 *   Node objects are deleted.
 *
 * The simulator is stopped while the reaper runs, so only the reaper can have deleted the ghosts.
 *
 * Caps: 10 of 20 nodes go Unknown; with a 20% cap one run drains and terminates exactly 4. Sampled
 * throughout the run (not only at the end): never more than 4 of those nodes cordoned, never more than 4
 * of the original instances gone from the ASG.
 *
 * Restart: the CLI process is killed (SIGKILL) in its throttle sleep after the first of two
 * terminations; the next run is refused while the dead run's Lease is live, takes it over once it
 * expires, and finishes the job from the annotations and EC2 state: the second node is drained and
 * terminated, the first is not terminated again (its instance is gone, so only its Node is deleted).
 *
 * The tests share one emulator account: moto hands out private IPs (hence Node names) per VPC, so two
 * accounts' simulators running at once would fight over the same Node names.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { AutoScalingGroups, type AwsClients } from '@keiko/aws-kit';
import type { KubeClient } from '@keiko/operator-kit';
import {
  createTestNamespace,
  NodeSimulator,
  SIMULATED_CLUSTER_LABEL,
  type TestAwsAccount,
  waitFor,
} from '@keiko/testkit';
import { parseConfig } from '../src/config.js';
import { type Node, type Pod, Resources } from '../src/kube.js';
import { instanceIdOf, readyStatus } from '../src/node/planner.js';
import { runReaper } from '../src/run/run.js';
import { awsAccount, kc, kubeClient, makeUnknown, runContext } from './support.js';

let account: TestAwsAccount;
let aws: AwsClients;
let client: KubeClient;
let sim: NodeSimulator | undefined;
let namespace: string;
const asgName = () => `${account.clusterName}-workers`;

const startSimulator = async () => {
  sim = await NodeSimulator.forAccount(account, {
    kubeConfig: kc,
    pollIntervalMs: 200,
  });
};

beforeAll(async () => {
  ({ account, aws } = await awsAccount('gov-node'));
  client = await kubeClient();
  namespace = await createTestNamespace(kc, 'gov-node');
  await startSimulator();
});

afterAll(async () => {
  await sim?.stop();
  aws?.destroy();
  client?.transport.close();
});

const clusterNodes = async () =>
  (
    await client.list<Node>(Resources.nodes, {
      labelSelector: `${SIMULATED_CLUSTER_LABEL}=${account.clusterName}`,
    })
  ).items;

async function createAsg(desired: number) {
  const lt = await aws.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: asgName(),
      LaunchTemplateData: {
        ImageId: account.amis.al2023,
        InstanceType: 'm5.large',
        SecurityGroupIds: [account.securityGroups.node],
      },
    }),
  );
  await aws.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: asgName(),
      LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId!, Version: '$Latest' },
      MinSize: 0,
      MaxSize: 10,
      DesiredCapacity: desired,
      VPCZoneIdentifier: account.subnets.map((s) => s.subnetId).join(','),
      Tags: [{ Key: account.clusterTagKey, Value: 'owned', PropagateAtLaunch: true }],
    }),
  );
}

test('Unknown node drained and replaced by its ASG; ghosts deleted; --dry-run first changes nothing', async () => {
  await createAsg(3);
  // A standalone instance (no ASG) that will be terminated out of band.
  const standalone = await aws.ec2.send(
    new RunInstancesCommand({
      ImageId: account.amis.al2023,
      InstanceType: 'm5.large',
      MinCount: 1,
      MaxCount: 1,
      SubnetId: account.subnets[0]!.subnetId,
      TagSpecifications: [
        { ResourceType: 'instance', Tags: [{ Key: account.clusterTagKey, Value: 'owned' }] },
      ],
    }),
  );
  const standaloneId = standalone.Instances![0]!.InstanceId!;
  const nodes = await waitFor(
    async () => {
      const list = await clusterNodes();
      return list.length === 4 && list.every((n) => readyStatus(n) === 'True') && list;
    },
    { description: '4 Ready nodes', timeoutMs: 60_000, intervalMs: 250 },
  );
  const asgs = new AutoScalingGroups(aws);
  const before = await asgs.get(asgName(), { ttlMs: 0 });
  const asgIds = before!.Instances!.map((i) => i.InstanceId!).sort();
  const victim = nodes.find((n) => instanceIdOf(n) === asgIds[0])!.metadata.name;
  const outOfBand = nodes.find((n) => instanceIdOf(n) === standaloneId)!.metadata.name;

  // A pod on the victim, which the drain must evict.
  await client.create<Pod>(Resources.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app', namespace },
    spec: { nodeName: victim, terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'app' }] },
  } as Pod);
  await waitFor(
    async () => (await client.get<Pod>(Resources.pods, 'app', namespace)).status?.phase === 'Running',
    {
      description: 'the pod to run',
    },
  );
  await makeUnknown(client, victim);
  // kube-controller-manager marks the pods of an unreachable node not ready; do it now.
  await client.patch(
    Resources.pods,
    'app',
    namespace,
    { status: { conditions: [{ type: 'Ready', status: 'False' }] } },
    'strategic',
    'status',
  );

  // Simulator off: from here on only the reaper deletes Nodes.
  await sim!.stop();
  await aws.ec2.send(new TerminateInstancesCommand({ InstanceIds: [standaloneId] }));
  const vanished = `ip-10-9-9-9.${account.region}.compute.internal`;
  await client.create<Node>(Resources.nodes, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: vanished,
      labels: {
        [SIMULATED_CLUSTER_LABEL]: account.clusterName,
        'topology.kubernetes.io/region': account.region,
      },
    },
    spec: { providerID: `aws:///${account.region}a/i-0123456789abcdef0` },
  });

  const argv = [
    `--region=${account.region}`,
    `--node-selector=${SIMULATED_CLUSTER_LABEL}=${account.clusterName}`,
    `--lock-namespace=${namespace}`,
    '--max-kill-percent=100',
    '--drain-timeout=60',
  ];
  const snapshot = async () =>
    JSON.stringify({
      nodes: (await clusterNodes())
        .map((n) => [
          n.metadata.name,
          n.spec?.unschedulable ?? false,
          n.metadata.annotations?.['governor.keikoproj.io/state'] ?? '',
        ])
        .sort(),
      asg: (await asgs.get(asgName(), { ttlMs: 0 }))!.Instances!.map((i) => i.InstanceId).sort(),
      pod: (await client.getOrUndefined<Pod>(Resources.pods, 'app', namespace))?.metadata.uid,
    });

  // Dry run: the plan, and nothing changes.
  const beforeDry = await snapshot();
  const dry = await runReaper(
    'node',
    parseConfig('node', { argv: [...argv, '--dry-run'], env: {} }),
    runContext(client, { aws, offsetMinutes: 11 }),
  );
  expect(dry.actions.map((a) => [a.target, a.reason, a.action]).sort()).toEqual(
    [
      [victim, 'Unknown', 'drain-terminate'],
      [outOfBand, 'Ghost', 'delete-node'],
      [vanished, 'Ghost', 'delete-node'],
    ].sort(),
  );
  expect(dry.results).toEqual([]);
  expect(await snapshot()).toBe(beforeDry);
  expect(await client.getOrUndefined(Resources.leases, 'governor-node-reaper', namespace)).toBeUndefined();

  // Without the injected 11 minutes the Unknown node is not yet past --reap-after.
  const early = await runReaper(
    'node',
    parseConfig('node', { argv: [...argv, '--dry-run'], env: {} }),
    runContext(client, { aws }),
  );
  expect(early.actions.map((a) => a.reason)).toEqual(['Ghost', 'Ghost']);

  // For real.
  const report = await runReaper(
    'node',
    parseConfig('node', { argv, env: {} }),
    runContext(client, { aws, offsetMinutes: 11 }),
  );
  expect(report.results.map((r) => [r.target, r.outcome]).sort()).toEqual(
    [
      [victim, 'done'],
      [outOfBand, 'done'],
      [vanished, 'done'],
    ].sort(),
  );
  expect(await client.getOrUndefined(Resources.nodes, outOfBand)).toBeUndefined();
  expect(await client.getOrUndefined(Resources.nodes, vanished)).toBeUndefined();
  expect(await client.getOrUndefined(Resources.pods, 'app', namespace)).toBeUndefined();
  const drained = await client.get<Node>(Resources.nodes, victim);
  expect(drained.spec?.unschedulable).toBe(true);
  expect(drained.metadata.annotations?.['governor.keikoproj.io/state']).toBe('termination-issued');
  const group = await asgs.get(asgName(), { ttlMs: 0 });
  expect(group!.DesiredCapacity).toBe(3);
  expect(group!.Instances!.map((i) => i.InstanceId)).not.toContain(asgIds[0]);
  // The lock was taken and released.
  const lease = await client.get<{ metadata: { name: string }; spec?: { holderIdentity?: string | null } }>(
    Resources.leases,
    'governor-node-reaper',
    namespace,
  );
  expect(lease.spec?.holderIdentity ?? null).toBeNull();

  // The ASG's replacement joins: simulator back on, the victim's Node goes, 3 Ready Nodes again.
  await startSimulator();
  const after = await waitFor(
    async () => {
      const list = await clusterNodes();
      return (
        list.length === 3 &&
        list.every((n) => readyStatus(n) === 'True') &&
        !list.some((n) => n.metadata.name === victim && instanceIdOf(n) === asgIds[0]) &&
        list
      );
    },
    {
      description: "the victim's Node to go and its replacement to be Ready",
      timeoutMs: 60_000,
      intervalMs: 250,
    },
  );
  expect(after.map(instanceIdOf).sort()).toEqual(group!.Instances!.map((i) => i.InstanceId).sort());
});

test('10 sick nodes of 20 with a 20% cap: exactly 4 reaped, never more than 4 disrupted at any time', async () => {
  const name = `${account.clusterName}-caps`;
  const lt = await aws.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: {
        ImageId: account.amis.al2023,
        InstanceType: 'm5.large',
        SecurityGroupIds: [account.securityGroups.node],
        UserData: Buffer.from(
          "/etc/eks/bootstrap.sh c --kubelet-extra-args '--node-labels=keiko.dev/pool=caps'",
        ).toString('base64'),
      },
    }),
  );
  await aws.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId!, Version: '$Latest' },
      MinSize: 0,
      MaxSize: 30,
      DesiredCapacity: 20,
      VPCZoneIdentifier: account.subnets.map((s) => s.subnetId).join(','),
      Tags: [{ Key: account.clusterTagKey, Value: 'owned', PropagateAtLaunch: true }],
    }),
  );
  const selector = `${SIMULATED_CLUSTER_LABEL}=${account.clusterName},keiko.dev/pool=caps`;
  const list = async () => (await client.list<Node>(Resources.nodes, { labelSelector: selector })).items;
  const nodes = await waitFor(
    async () => {
      const l = await list();
      return l.length === 20 && l.every((n) => readyStatus(n) === 'True') && l;
    },
    { description: '20 Ready nodes', timeoutMs: 180_000, intervalMs: 250 },
  );
  const sick = nodes.slice(0, 10).map((n) => n.metadata.name);
  const original = new Set(nodes.map(instanceIdOf));
  await Promise.all(sick.map((n) => makeUnknown(client, n)));

  const asgs = new AutoScalingGroups(aws);
  let maxCordoned = 0;
  let maxGone = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const [l, g] = await Promise.all([list(), asgs.get(name, { ttlMs: 0 })]);
      maxCordoned = Math.max(maxCordoned, l.filter((n) => n.spec?.unschedulable).length);
      const inAsg = new Set(g!.Instances!.map((i) => i.InstanceId));
      maxGone = Math.max(maxGone, [...original].filter((id) => !inAsg.has(id)).length);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  const argv = [
    `--region=${account.region}`,
    `--node-selector=${selector}`,
    `--lock-namespace=${namespace}`,
    '--max-kill-nodes=20',
    '--max-kill-percent=20',
    '--max-kill-percent-per-asg=100',
    // The caps are under test here; ASG stability has its table tests and the first test's run.
    '--asg-validation=false',
  ];
  const ctx = runContext(client, { aws, offsetMinutes: 11 });
  const report = await runReaper('node', parseConfig('node', { argv, env: {} }), ctx);
  sampling = false;
  await sampler;

  const done = report.results.filter((r) => r.outcome === 'done');
  expect(done).toHaveLength(4);
  expect(done.every((r) => sick.includes(r.target) && r.action === 'drain-terminate')).toBe(true);
  expect(report.skipped.filter((s) => s.why.startsWith('cap reached'))).toHaveLength(6);
  // Throttle between terminations (default 300 s), recorded by the injected sleep instead of waited.
  expect(ctx.sleeps).toEqual([300_000, 300_000, 300_000]);
  const group = await asgs.get(name, { ttlMs: 0 });
  expect([...original].filter((id) => !group!.Instances!.some((i) => i.InstanceId === id))).toHaveLength(4);
  expect(group!.DesiredCapacity).toBe(20);
  expect(maxCordoned).toBeLessThanOrEqual(4);
  expect(maxGone).toBeLessThanOrEqual(4);
  expect(maxCordoned).toBeGreaterThan(0);
});

test('a run killed mid-way is resumed by the next one without double work', async () => {
  const name = `${account.clusterName}-resume`;
  const lt = await aws.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: {
        ImageId: account.amis.al2023,
        InstanceType: 'm5.large',
        SecurityGroupIds: [account.securityGroups.node],
        UserData: Buffer.from(
          "/etc/eks/bootstrap.sh c --kubelet-extra-args '--node-labels=keiko.dev/pool=resume'",
        ).toString('base64'),
      },
    }),
  );
  await aws.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId!, Version: '$Latest' },
      MinSize: 0,
      MaxSize: 10,
      DesiredCapacity: 4,
      VPCZoneIdentifier: account.subnets.map((s) => s.subnetId).join(','),
      Tags: [{ Key: account.clusterTagKey, Value: 'owned', PropagateAtLaunch: true }],
    }),
  );
  const selector = `${SIMULATED_CLUSTER_LABEL}=${account.clusterName},keiko.dev/pool=resume`;
  const list = async () => (await client.list<Node>(Resources.nodes, { labelSelector: selector })).items;
  const nodes = await waitFor(
    async () => {
      const l = await list();
      return l.length === 4 && l.every((n) => readyStatus(n) === 'True') && l;
    },
    { description: '4 Ready nodes', timeoutMs: 60_000, intervalMs: 250 },
  );
  // Unknown for 20 minutes already: the process runs on the real clock.
  const [first, second] = nodes
    .map((n) => n.metadata.name)
    .sort()
    .slice(0, 2) as [string, string];
  await makeUnknown(client, first, 30);
  await makeUnknown(client, second, 20);
  await sim!.stop(); // nothing but the reaper deletes Nodes from here on

  const argv = [
    `--region=${account.region}`,
    `--node-selector=${selector}`,
    `--lock-namespace=${namespace}`,
    '--lock-duration-seconds=10',
    '--max-kill-nodes=2',
    '--max-kill-percent=100',
    '--max-kill-percent-per-asg=100',
    '--reap-throttle=3600',
    '--identity=doomed-run',
  ];
  const mainJs = join(dirname(fileURLToPath(import.meta.url)), '../dist/main.js');
  const child = spawn(process.execPath, [mainJs, 'reap', 'node', ...argv], {
    env: { ...process.env, ...account.env() },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // The longest-broken node goes first; then the process sleeps an hour (the throttle): kill it there.
  await waitFor(
    async () =>
      (await client.get<Node>(Resources.nodes, first)).metadata.annotations?.[
        'governor.keikoproj.io/state'
      ] === 'termination-issued',
    { description: 'the first termination', timeoutMs: 60_000 },
  );
  child.kill('SIGKILL');
  await exited;
  expect((await client.get<Node>(Resources.nodes, second)).spec?.unschedulable ?? false).toBe(false);

  const config = parseConfig('node', {
    argv: argv.filter((a) => !a.startsWith('--identity')).concat('--identity=next-run', '--reap-throttle=0'),
    env: {},
  });
  const refused = await runReaper('node', config, runContext(client, { aws }));
  expect(refused.lockedBy).toBe('doomed-run');

  const resumed = await waitFor(
    async () => {
      const r = await runReaper('node', config, runContext(client, { aws }));
      return r.lockedBy ? undefined : r;
    },
    { description: "the dead run's Lease to expire", timeoutMs: 30_000, intervalMs: 1_000 },
  );
  expect(resumed.results.map((r) => [r.target, r.action, r.outcome]).sort()).toEqual(
    [
      [first, 'delete-node', 'done'],
      [second, 'drain-terminate', 'done'],
    ].sort(),
  );
  const group = await new AutoScalingGroups(aws).get(name, { ttlMs: 0 });
  const ids = group!.Instances!.map((i) => i.InstanceId);
  for (const n of nodes.filter((n) => [first, second].includes(n.metadata.name)))
    expect(ids).not.toContain(instanceIdOf(n));
  expect(group!.DesiredCapacity).toBe(4);
  await startSimulator();
});
