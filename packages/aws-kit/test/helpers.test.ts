/** The domain helpers against moto: standby in chunks, processes, launch template versions, EKS, SSM, S3, spot. */

import { Readable } from 'node:stream';
import {
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, ModifyLaunchTemplateCommand } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import {
  AutoScalingGroups,
  Ec2,
  Eks,
  eksOptimizedAmiId,
  instanceLaunchTemplate,
  STANDBY_CHUNK,
  uploadStream,
} from '../src/index.js';
import { type AwsTestContext, awsTestContext, counter } from './support.js';

let ctx: AwsTestContext;
beforeAll(async () => {
  ctx = await awsTestContext('helpers');
});
afterAll(() => ctx?.aws.destroy());

async function group(name: string, desired: number, userData = '') {
  const { aws, account } = ctx;
  const lt = await aws.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: {
        ImageId: account.amis.al2023,
        InstanceType: 't3.small',
        UserData: Buffer.from(userData).toString('base64'),
      },
    }),
  );
  await aws.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId!, Version: '$Latest' },
      MinSize: 0,
      MaxSize: 50,
      DesiredCapacity: desired,
      VPCZoneIdentifier: account.subnets.map((s) => s.subnetId).join(','),
    }),
  );
  return lt.LaunchTemplate!.LaunchTemplateId!;
}

test('enter and exit standby go in chunks of at most 19', async () => {
  const name = `${ctx.account.clusterName}-standby`;
  await group(name, 21);
  const asgs = new AutoScalingGroups(ctx.aws);
  const ids = (await asgs.get(name, { ttlMs: 0 }))!.Instances!.map((i) => i.InstanceId!);
  expect(ids).toHaveLength(21);
  const enter = () => counter(ctx.aws, 'calls', { operation: 'EnterStandby', result: 'success' });
  const exit = () => counter(ctx.aws, 'calls', { operation: 'ExitStandby', result: 'success' });

  await asgs.enterStandby(name, ids, false);
  expect(await enter()).toBe(Math.ceil(21 / STANDBY_CHUNK));
  const standby = (await asgs.get(name))!.Instances!.filter((i) => i.LifecycleState === 'Standby');
  expect(standby).toHaveLength(21);

  await asgs.exitStandby(name, ids);
  expect(await exit()).toBe(2);
  expect((await asgs.get(name))!.Instances!.every((i) => i.LifecycleState === 'InService')).toBe(true);
});

test('suspend and resume processes; tags', async () => {
  const name = `${ctx.account.clusterName}-procs`;
  await group(name, 0);
  const asgs = new AutoScalingGroups(ctx.aws);
  await asgs.suspendProcesses(name, ['AZRebalance', 'Launch']);
  expect((await asgs.get(name))!.SuspendedProcesses!.map((p) => p.ProcessName).sort()).toEqual([
    'AZRebalance',
    'Launch',
  ]);
  await asgs.resumeProcesses(name, ['Launch']);
  expect((await asgs.get(name))!.SuspendedProcesses!.map((p) => p.ProcessName)).toEqual(['AZRebalance']);

  await asgs.putTags(name, { 'keiko.dev/owner': 'helpers' });
  expect(
    (await asgs.findByTags({ 'keiko.dev/owner': 'helpers' })).map((g) => g.AutoScalingGroupName),
  ).toEqual([name]);
  await asgs.deleteTags(name, ['keiko.dev/owner']);
  expect(await asgs.findByTags({ 'keiko.dev/owner': 'helpers' })).toEqual([]);
});

test('UpdateAutoScalingGroup keeps CapacityRebalance (testkit patches moto, which dropped it)', async () => {
  const name = `${ctx.account.clusterName}-rebalance`;
  await group(name, 0);
  const read = async () =>
    (await ctx.aws.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] })))
      .AutoScalingGroups![0]!.CapacityRebalance;
  expect(await read()).toBe(false);
  await ctx.aws.autoScaling.send(
    new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, CapacityRebalance: true }),
  );
  expect(await read()).toBe(true);
  // An update that does not mention it leaves it as it is.
  await ctx.aws.autoScaling.send(
    new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MaxSize: 40 }),
  );
  expect(await read()).toBe(true);
  await ctx.aws.autoScaling.send(
    new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, CapacityRebalance: false }),
  );
  expect(await read()).toBe(false);
});

test("an instance's launch template version comes from its EC2 tags, not from the group", async () => {
  const { aws } = ctx;
  const name = `${ctx.account.clusterName}-ltv`;
  const ltId = await group(name, 1);
  const ec2 = new Ec2(aws);
  const asgs = new AutoScalingGroups(aws);
  const v2 = await ec2.createLaunchTemplateVersion({
    LaunchTemplateId: ltId,
    SourceVersion: '1',
    LaunchTemplateData: { InstanceType: 't3.medium' },
  });
  expect(v2.VersionNumber).toBe(2);
  expect((await ec2.launchTemplateVersions(ltId)).map((v) => v.VersionNumber).sort()).toEqual([1, 2]);
  // moto tags ASG-launched instances with the template's *default* version whatever version the
  // group names (README, "What moto lacks"), so the new version is made the default as well.
  await aws.ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: ltId, DefaultVersion: '2' }));
  await aws.autoScaling.send(
    new UpdateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateId: ltId, Version: '$Default' },
    }),
  );
  asgs.written(name);
  await asgs.setDesiredCapacity(name, 2);
  const described = await aws.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }),
  );
  const ids = described.AutoScalingGroups![0]!.Instances!.map((i) => i.InstanceId!);
  const versions = (await ec2.instances(ids)).map((i) => instanceLaunchTemplate(i)?.version).sort();
  expect(versions).toEqual(['1', '2']);
});

test('instances by id page through DescribeInstances; unknown ids are absent', async () => {
  const name = `${ctx.account.clusterName}-paged`;
  await group(name, 3);
  const ids = (await new AutoScalingGroups(ctx.aws).get(name))!.Instances!.map((i) => i.InstanceId!);
  const found = await new Ec2(ctx.aws).instances([...ids, 'i-0123456789abcdef0'], { ttlMs: 0 });
  expect(found.map((i) => i.InstanceId).sort()).toEqual([...ids].sort());
});

test('EKS cluster, EKS-optimised AMI ids from SSM, spot price history', async () => {
  const { aws, account } = ctx;
  const cluster = await new Eks(aws).cluster(account.clusterName);
  expect(cluster?.resourcesVpcConfig?.subnetIds?.sort()).toEqual(
    account.subnets.map((s) => s.subnetId).sort(),
  );
  expect(await new Eks(aws).cluster('no-such-cluster')).toBeUndefined();
  expect(await eksOptimizedAmiId(aws, account.kubernetesVersion, 'al2023')).toBe(account.amis.al2023);
  expect(await eksOptimizedAmiId(aws, account.kubernetesVersion, 'bottlerocket')).toBe(
    account.amis.bottlerocket,
  );
  const prices = await new Ec2(aws).spotPriceHistory({ instanceTypes: ['m5.large'] });
  expect(prices.length).toBeGreaterThan(0); // moto: a constant placeholder price, see README
});

test('S3 streaming upload goes up in parts', async () => {
  const { aws } = ctx;
  const bucket = ctx.account.clusterName;
  await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const chunk = Buffer.alloc(1024 * 1024, 7);
  const body = Readable.from(
    (function* () {
      for (let i = 0; i < 12; i++) yield chunk;
    })(),
  );
  await uploadStream(aws, bucket, 'dump.tar', body, { partSizeBytes: 5 * 1024 * 1024 });
  const head = await aws.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dump.tar' }));
  expect(head.ContentLength).toBe(12 * 1024 * 1024);
  expect(await counter(aws, 'calls', { service: 's3', operation: 'UploadPart', result: 'success' })).toBe(3);
});
