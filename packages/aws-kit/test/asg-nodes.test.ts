/**
 * The loop a real cluster closes: an ASG launched from a launch template scales up in moto, its
 * instances become Ready Nodes in the real API server (node simulator + kwok), and an instance
 * terminated through the ASG loses its Node while its replacement gains one.
 */

import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, CreateLaunchTemplateVersionCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { NodeSimulator, testKubeConfig, waitFor } from '@keiko/testkit';
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { AutoScalingGroups, Ec2, instanceLaunchTemplate } from '../src/index.js';
import { type AwsTestContext, awsTestContext, templateGroup } from './support.js';

const USER_DATA = `#!/bin/bash
set -o xtrace
/etc/eks/bootstrap.sh my-cluster --kubelet-extra-args '--node-labels=keiko.dev/pool=batch,team=data --register-with-taints=dedicated=batch:NoSchedule'
`;

let ctx: AwsTestContext;
let sim: NodeSimulator;
const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);

beforeAll(async () => {
  ctx = await awsTestContext('asg-nodes');
  sim = await NodeSimulator.forAccount(ctx.account, {
    kubeConfig: kc,
    bootDelayMs: 500,
    pollIntervalMs: 200,
  });
});

afterAll(async () => {
  await sim?.stop();
  ctx?.aws.destroy();
});

async function clusterNodes(): Promise<V1Node[]> {
  return (
    await core.listNode({ labelSelector: `testkit.keiko.dev/simulated-cluster=${ctx.account.clusterName}` })
  ).items;
}

const isReady = (n: V1Node) =>
  n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const instanceIdOf = (n: V1Node) => n.spec?.providerID?.split('/').pop();

test('scaling an ASG up brings Ready Nodes; terminating in the ASG swaps one Node', async () => {
  const { aws, account } = ctx;
  const asgs = new AutoScalingGroups(aws);
  const ec2 = new Ec2(aws);
  const name = `${account.clusterName}-workers`;

  const lt = await aws.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: {
        ImageId: account.amis.al2023,
        InstanceType: 'm5.large',
        SecurityGroupIds: [account.securityGroups.node],
        UserData: Buffer.from(USER_DATA).toString('base64'),
      },
    }),
  );
  await aws.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId!, Version: '$Latest' },
      MinSize: 0,
      MaxSize: 10,
      DesiredCapacity: 0,
      VPCZoneIdentifier: account.subnets.map((s) => s.subnetId).join(','),
      Tags: [{ Key: account.clusterTagKey, Value: 'owned', PropagateAtLaunch: true }],
    }),
  );
  expect(await clusterNodes()).toHaveLength(0);

  await asgs.setDesiredCapacity(name, 3);
  const group = await waitFor(
    async () => {
      const g = await asgs.get(name, { ttlMs: 0 });
      return (g?.Instances?.length ?? 0) === 3 && g;
    },
    { description: 'the ASG to have 3 instances' },
  );
  const ids = group.Instances!.map((i) => i.InstanceId!).sort();
  const instances = await ec2.instances(ids);
  expect(instances.map((i) => i.InstanceId).sort()).toEqual(ids);
  // Spread across the group's zones as AWS balances them (testkit patches moto, which otherwise puts
  // every instance in the first subnet).
  const zones = new Set(account.subnets.map((s) => s.availabilityZone));
  expect(new Set(instances.map((i) => i.Placement!.AvailabilityZone)).size).toBe(Math.min(3, zones.size));
  // The version each instance runs, from EC2's own tags.
  for (const i of instances) {
    expect(instanceLaunchTemplate(i)).toEqual({
      launchTemplateId: lt.LaunchTemplate!.LaunchTemplateId,
      version: '1',
    });
  }

  const nodes = await waitFor(
    async () => {
      const list = await clusterNodes();
      return list.length === 3 && list.every(isReady) && list;
    },
    { description: '3 Ready Nodes', timeoutMs: 60_000, intervalMs: 250 },
  );
  expect(nodes.map(instanceIdOf).sort()).toEqual(ids);
  for (const node of nodes) {
    const instance = instances.find((i) => i.InstanceId === instanceIdOf(node))!;
    const az = instance.Placement!.AvailabilityZone!;
    expect(node.metadata!.name).toBe(instance.PrivateDnsName);
    expect(node.spec!.providerID).toBe(`aws:///${az}/${instance.InstanceId}`);
    expect(node.metadata!.labels).toMatchObject({
      'node.kubernetes.io/instance-type': 'm5.large',
      'topology.kubernetes.io/zone': az,
      'topology.kubernetes.io/region': account.region,
      'keiko.dev/pool': 'batch',
      team: 'data',
    });
    // kube-controller-manager may still hold its own node.kubernetes.io/not-ready taint; ours must be there.
    expect(node.spec!.taints).toContainEqual(
      expect.objectContaining({ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }),
    );
  }

  const victim = ids[0]!;
  expect(await asgs.terminateInstance(victim, false)).toBe(name);
  const after = await waitFor(
    async () => {
      const list = await clusterNodes();
      const current = list.map(instanceIdOf);
      return list.length === 3 && list.every(isReady) && !current.includes(victim) && list;
    },
    {
      description: "the victim's Node to go and a replacement's Node to be Ready",
      timeoutMs: 60_000,
      intervalMs: 250,
    },
  );
  const replacement = after.map(instanceIdOf).find((id) => !ids.includes(id!));
  expect(replacement).toBeDefined();
  const groupAfter = await asgs.get(name, { ttlMs: 0 });
  expect(groupAfter!.Instances!.map((i) => i.InstanceId).sort()).toEqual(after.map(instanceIdOf).sort());
  expect(groupAfter!.DesiredCapacity).toBe(3);

  // A new template version with other user data (testkit patches moto 5.2.5, which otherwise fails
  // every launch from a CreateLaunchTemplateVersion that carries UserData): the next replacement
  // boots from it and its Node carries the new labels.
  await aws.ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId!,
      SourceVersion: '1',
      LaunchTemplateData: {
        ImageId: account.amis.al2023,
        InstanceType: 'm5.xlarge',
        SecurityGroupIds: [account.securityGroups.node],
        UserData: Buffer.from(USER_DATA.replace('team=data', 'team=search')).toString('base64'),
      },
    }),
  );
  const second = after.map(instanceIdOf).find((id) => id !== replacement)!;
  expect(await asgs.terminateInstance(second, false)).toBe(name);
  const relabelled = await waitFor(
    async () => {
      const list = await clusterNodes();
      const fresh = list.find((n) => !after.map(instanceIdOf).includes(instanceIdOf(n)));
      return list.length === 3 && list.every(isReady) && fresh;
    },
    { description: 'a Node from launch template version 2', timeoutMs: 60_000, intervalMs: 250 },
  );
  expect(relabelled.metadata!.labels).toMatchObject({
    'node.kubernetes.io/instance-type': 'm5.xlarge',
    'keiko.dev/pool': 'batch',
    team: 'search',
  });
  const [v2] = await ec2.instances([instanceIdOf(relabelled)!]);
  expect(instanceLaunchTemplate(v2!)).toEqual({
    launchTemplateId: lt.LaunchTemplate!.LaunchTemplateId,
    version: '2',
  });
});

test('a simulated boot is timed from the launch, not from when a poll first saw the instance', async () => {
  const { aws, account } = ctx;
  const asgs = new AutoScalingGroups(aws);
  const name = `${account.clusterName}-boot`;
  // No simulator polls while the instance launches and its 500 ms boot runs out.
  await sim.stop();
  const before = Date.now();
  await templateGroup(ctx, name, {
    desired: 1,
    maxSize: 1,
    subnets: 1,
    clusterTag: true,
    instanceType: 'm5.large',
  });
  const after = Date.now();
  const id = (await asgs.get(name, { ttlMs: 0 }))!.Instances![0]!.InstanceId!;
  // The side door's launch time has milliseconds (moto's LaunchTime has whole seconds).
  const url = new URL('/_keiko/v1/instances', account.endpoint);
  url.search = new URLSearchParams({
    accountId: account.accountId,
    region: account.region,
    tagKey: account.clusterTagKey,
  }).toString();
  const listed = ((await (await fetch(url)).json()) as { instanceId: string; launchedAtMs: number }[]).find(
    (i) => i.instanceId === id,
  )!;
  expect(listed.launchedAtMs).toBeGreaterThanOrEqual(before);
  expect(listed.launchedAtMs).toBeLessThanOrEqual(after);
  await new Promise((r) => setTimeout(r, 700));

  // A simulator that first sees it now registers its Node in its first pass: the boot is over. (Timed
  // from the first sight, the Node would wait another 500 ms, past the two passes below.)
  sim = await NodeSimulator.forAccount(account, {
    kubeConfig: kc,
    bootDelayMs: 500,
    pollIntervalMs: 60_000,
  });
  await sim.syncOnce();
  expect(sim.nodeNames().has(id)).toBe(true);
  expect((await clusterNodes()).map(instanceIdOf)).toContain(id);
});
