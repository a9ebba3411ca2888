/** Shared set-up of aws-kit's integration tests: an isolated emulator account and clients for it. */

import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { type _InstanceType, CreateLaunchTemplateCommand } from '@aws-sdk/client-ec2';
import { createTestAwsAccount, type TestAwsAccount, uniqueName } from '@keiko/testkit';
import { Registry } from 'prom-client';
import { AwsClients, type AwsClientsOptions, AwsMetrics } from '../src/index.js';

export interface AwsTestContext {
  account: TestAwsAccount;
  aws: AwsClients;
  registry: Registry;
}

/** A fresh account on the shared emulator (see testkit's createTestAwsAccount) and clients for it. */
export async function awsTestContext(
  prefix: string,
  options: AwsClientsOptions = {},
): Promise<AwsTestContext> {
  const account = await createTestAwsAccount({ clusterName: uniqueName(prefix) });
  return { account, ...(await clientsFor(account, options)) };
}

export async function clientsFor(account: TestAwsAccount, options: AwsClientsOptions = {}) {
  const registry = new Registry();
  const aws = await AwsClients.create({
    region: account.region,
    credentials: account.credentials,
    registry,
    ...options,
  });
  return { aws, registry };
}

/** Value of a counter series, summed over the labels not given. */
export function counter(aws: AwsClients, name: keyof AwsMetrics, labels: Record<string, string>) {
  // biome-ignore lint/suspicious/noExplicitAny: every member named here is a Counter
  return AwsMetrics.value(aws.metrics[name] as any, labels);
}

/**
 * A launch template (AL2023, t3.small unless `instanceType`) and an ASG of `desired` instances from
 * its `$Latest`, in the account's subnets (`subnets`: how many, default all). `clusterTag` makes its
 * instances Nodes of the simulated cluster. Returns the template id.
 */
export async function templateGroup(
  ctx: AwsTestContext,
  name: string,
  options: {
    desired: number;
    maxSize?: number;
    subnets?: number;
    clusterTag?: boolean;
    instanceType?: _InstanceType;
  },
): Promise<string> {
  const { aws, account } = ctx;
  const lt = await aws.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: { ImageId: account.amis.al2023, InstanceType: options.instanceType ?? 't3.small' },
    }),
  );
  const ltId = lt.LaunchTemplate!.LaunchTemplateId!;
  await aws.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateId: ltId, Version: '$Latest' },
      MinSize: 0,
      MaxSize: options.maxSize ?? Math.max(5, options.desired * 2),
      DesiredCapacity: options.desired,
      VPCZoneIdentifier: account.subnets
        .slice(0, options.subnets ?? account.subnets.length)
        .map((s) => s.subnetId)
        .join(','),
      ...(options.clusterTag
        ? { Tags: [{ Key: account.clusterTagKey, Value: 'owned', PropagateAtLaunch: true }] }
        : {}),
    }),
  );
  return ltId;
}
