/**
 * Discovery on moto: every opted-in group of the cluster is found, whichever cluster tag it carries
 * (upstream's `KubernetesCluster` or EKS's `kubernetes.io/cluster/<name>`), across pages (more than 100
 * groups; upstream stopped at the first 100), and nothing else is: not groups without the opt-in tag, not
 * other clusters' groups.
 */
import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { AutoScalingGroups, AwsClients, AwsMetrics } from '@keiko/aws-kit';
import { createTestAwsAccount, type TestAwsAccount, uniqueName } from '@keiko/testkit';
import { Registry } from 'prom-client';
import { TAG } from '../src/asg/tags.js';
import { discoverGroups } from '../src/controller/discovery.js';

let account: TestAwsAccount;
let aws: AwsClients;

beforeAll(async () => {
  account = await createTestAwsAccount({ clusterName: uniqueName('mm-disc') });
  aws = await AwsClients.create({
    region: account.region,
    credentials: account.credentials,
    registry: new Registry(),
  });
});
afterAll(() => aws?.destroy());

test('finds every opted-in group of the cluster across pages, and only those', async () => {
  const lt = await aws.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: `${account.clusterName}-lt`,
      LaunchTemplateData: { ImageId: account.amis.al2023, InstanceType: 'm5.large' },
    }),
  );
  const subnet = account.subnets[0]?.subnetId as string;
  const create = (name: string, tags: Record<string, string>) =>
    aws.autoScaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: name,
        LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate?.LaunchTemplateId, Version: '$Latest' },
        MinSize: 0,
        MaxSize: 1,
        DesiredCapacity: 0,
        VPCZoneIdentifier: subnet,
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  const c = account.clusterName;
  const expected: string[] = [];
  const batches: Promise<unknown>[] = [];
  for (let i = 0; i < 103; i++) {
    const name = `${c}-eks-${String(i).padStart(3, '0')}`;
    expected.push(name);
    batches.push(
      create(name, { [TAG.mode]: i % 2 ? 'use-spot' : 'no-spot', [`kubernetes.io/cluster/${c}`]: 'owned' }),
    );
  }
  for (let i = 0; i < 3; i++) {
    const name = `${c}-kops-${i}`;
    expected.push(name);
    batches.push(create(name, { [TAG.mode]: 'use-spot', KubernetesCluster: c }));
  }
  // Both cluster tags: found once.
  expected.push(`${c}-both`);
  batches.push(
    create(`${c}-both`, {
      [TAG.mode]: 'use-spot',
      KubernetesCluster: c,
      [`kubernetes.io/cluster/${c}`]: 'owned',
    }),
  );
  // Not ours: no opt-in tag, another cluster (both tag styles).
  batches.push(create(`${c}-not-opted`, { [`kubernetes.io/cluster/${c}`]: 'owned' }));
  batches.push(
    create(`${c}-other-eks`, { [TAG.mode]: 'use-spot', 'kubernetes.io/cluster/another': 'owned' }),
  );
  batches.push(create(`${c}-other-kops`, { [TAG.mode]: 'use-spot', KubernetesCluster: 'another' }));
  await Promise.all(batches);

  const found = await discoverGroups(new AutoScalingGroups(aws), c);
  expect(found.map((g) => g.AutoScalingGroupName)).toEqual(expected.sort());
  // Two tag queries, the EKS one over two pages of 100: filtered by AWS, paged to the end.
  const calls = await AwsMetrics.value(aws.metrics.calls, {
    service: 'autoscaling',
    operation: 'DescribeAutoScalingGroups',
  });
  expect(calls).toBe(3);
});
