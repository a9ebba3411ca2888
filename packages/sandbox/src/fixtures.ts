/**
 * AWS fixtures: the part of an example that is not a Kubernetes object. An Auto Scaling group that
 * instance-manager does not own (for upgrade-manager to roll, or for minion-manager to steer) exists
 * only in AWS, so `kubectl apply` cannot create it. An example folder holds it as `*.aws.yaml`, which
 * the sandbox creates in the emulator before the controllers start:
 *
 * ```yaml
 * launchTemplates:
 *   - LaunchTemplateName: legacy-workers
 *     versions:                    # created in order as version 1, 2, ...
 *       - InstanceType: m5.large    # LaunchTemplateData fields; ImageId defaults to the EKS AMI,
 *         UserData: |               # SecurityGroupIds to the node group; UserData is plain text
 *           ...
 * autoScalingGroups:
 *   - AutoScalingGroupName: legacy-workers
 *     LaunchTemplate: { LaunchTemplateName: legacy-workers, Version: "2" }
 *     launchedFromVersion: "1"     # optional: start the instances on this version, then move the
 *                                  # group to LaunchTemplate.Version (a roll has work to do)
 *     MinSize: 2
 *     MaxSize: 3
 *     DesiredCapacity: 2
 *     Tags: { k8s-minion-manager: use-spot }   # propagated to instances; the cluster tag is added
 *     expect: .Tags[?(@.Key=="k8s-minion-manager/market")].Value=spot   # see ./expect.ts
 * ```
 *
 * The group spans the seeded private subnets. Field names are the AWS API's, so the file reads like
 * the `aws autoscaling create-auto-scaling-group` input it stands for.
 */
import {
  type AutoScalingGroup,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  type RequestLaunchTemplateData,
} from '@aws-sdk/client-ec2';
import type { AwsClients } from '@keiko/aws-kit';
import type { TestAwsAccount } from '@keiko/testkit';
import { parse } from 'yaml';
import { type Clause, parseExpectation } from './expect.js';

export interface LaunchTemplateFixture {
  LaunchTemplateName: string;
  versions: (RequestLaunchTemplateData & { UserData?: string })[];
}

export interface AutoScalingGroupFixture {
  AutoScalingGroupName: string;
  LaunchTemplate: { LaunchTemplateName: string; Version: string };
  launchedFromVersion?: string;
  MinSize: number;
  MaxSize: number;
  DesiredCapacity?: number;
  Tags?: Record<string, string>;
  expect?: string;
}

export interface AwsFixture {
  file: string;
  launchTemplates: LaunchTemplateFixture[];
  autoScalingGroups: AutoScalingGroupFixture[];
}

/** An ASG the sandbox created, with what its example expects of it. */
export interface FixtureGroup {
  name: string;
  file: string;
  expect: Clause[] | undefined;
}

export const isAwsFixtureFile = (file: string) => /\.aws\.ya?ml$/.test(file);

/** Parses one `*.aws.yaml`; throws naming the file and the field that is wrong. */
export function parseAwsFixture(file: string, text: string): AwsFixture {
  const doc = (parse(text) ?? {}) as Partial<AwsFixture>;
  const fail = (what: string) => {
    throw new Error(`${file}: ${what}`);
  };
  const launchTemplates = doc.launchTemplates ?? [];
  const autoScalingGroups = doc.autoScalingGroups ?? [];
  for (const [i, lt] of launchTemplates.entries()) {
    if (!lt.LaunchTemplateName) fail(`launchTemplates[${i}].LaunchTemplateName is required`);
    if (!lt.versions?.length) fail(`launchTemplates[${i}].versions needs at least one version`);
  }
  for (const [i, g] of autoScalingGroups.entries()) {
    const at = `autoScalingGroups[${i}]`;
    if (!g.AutoScalingGroupName) fail(`${at}.AutoScalingGroupName is required`);
    if (!g.LaunchTemplate?.LaunchTemplateName || !g.LaunchTemplate.Version)
      fail(`${at}.LaunchTemplate needs LaunchTemplateName and Version`);
    if (!Number.isInteger(g.MinSize) || !Number.isInteger(g.MaxSize))
      fail(`${at}.MinSize and MaxSize must be integers`);
    if (g.expect !== undefined) parseExpectation(g.expect);
  }
  return { file, launchTemplates, autoScalingGroups };
}

/**
 * Creates the fixture's launch templates and groups in the sandbox account. A group with
 * `launchedFromVersion` is created on that version (the emulator launches its instances at once) and
 * then moved to `LaunchTemplate.Version`, which leaves its instances behind.
 */
export async function createAwsFixture(
  aws: AwsClients,
  account: TestAwsAccount,
  fixture: AwsFixture,
): Promise<FixtureGroup[]> {
  for (const lt of fixture.launchTemplates) {
    const data = lt.versions.map((v) => ({
      ImageId: account.amis.al2023,
      SecurityGroupIds: [account.securityGroups.node],
      ...v,
      ...(v.UserData ? { UserData: Buffer.from(v.UserData).toString('base64') } : {}),
    }));
    const created = await aws.ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: lt.LaunchTemplateName,
        LaunchTemplateData: data[0],
      }),
    );
    for (const LaunchTemplateData of data.slice(1)) {
      await aws.ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: created.LaunchTemplate?.LaunchTemplateId,
          LaunchTemplateData,
        }),
      );
    }
  }
  const groups: FixtureGroup[] = [];
  for (const g of fixture.autoScalingGroups) {
    const tags = { [account.clusterTagKey]: 'owned', ...(g.Tags ?? {}) };
    await aws.autoScaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: g.AutoScalingGroupName,
        LaunchTemplate: {
          LaunchTemplateName: g.LaunchTemplate.LaunchTemplateName,
          Version: g.launchedFromVersion ?? g.LaunchTemplate.Version,
        },
        MinSize: g.MinSize,
        MaxSize: g.MaxSize,
        DesiredCapacity: g.DesiredCapacity ?? g.MinSize,
        VPCZoneIdentifier: account.subnets.map((s) => s.subnetId).join(','),
        Tags: Object.entries(tags).map(([Key, Value]) => ({
          Key,
          Value,
          PropagateAtLaunch: true,
          ResourceId: g.AutoScalingGroupName,
          ResourceType: 'auto-scaling-group',
        })),
      }),
    );
    if (g.launchedFromVersion && g.launchedFromVersion !== g.LaunchTemplate.Version) {
      await aws.autoScaling.send(
        new UpdateAutoScalingGroupCommand({
          AutoScalingGroupName: g.AutoScalingGroupName,
          LaunchTemplate: g.LaunchTemplate,
        }),
      );
    }
    groups.push({
      name: g.AutoScalingGroupName,
      file: fixture.file,
      expect: g.expect === undefined ? undefined : parseExpectation(g.expect),
    });
  }
  return groups;
}

/** The groups as DescribeAutoScalingGroups returns them (what fixture expectations are checked on). */
export async function describeGroups(
  aws: AwsClients,
  names: string[],
): Promise<Map<string, AutoScalingGroup>> {
  if (names.length === 0) return new Map();
  const out = await aws.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: names }),
  );
  return new Map((out.AutoScalingGroups ?? []).map((g) => [g.AutoScalingGroupName ?? '', g]));
}
