/**
 * Shared set-up of the integration tests: an isolated account on the emulator, groups of instances that
 * become Ready Nodes, and the in-process AWS shim for exactly what moto cannot do:
 *
 * - Pricing `GetProducts`: moto has no Pricing API. The shim answers it from `onDemand` in the
 *   Pricing API's own PriceList JSON format, so the controller's filter/parse path runs.
 * - `DescribeSpotPriceHistory`: moto answers a flat $0.00001 with a 2006 timestamp. The shim answers
 *   from `spotPrices` (newest-first samples per pool).
 * - `DescribeScalingActivities`: moto always answers an empty list. The shim answers the activities a
 *   test injects (an insufficient-spot-capacity failure).
 * - Spot instances: moto launches every group instance as on-demand whatever the MixedInstancesPolicy
 *   says (it never sets InstanceLifecycle). The shim remembers each group's distribution as the
 *   controller sets it (UpdateAutoScalingGroup) and marks instances first seen after that as the
 *   market the group was launching into (`InstanceLifecycle: 'spot'`), as AWS would have launched them.
 *
 * Everything else (groups, launch templates, instances, terminations, tags) is moto.
 */
import { type Activity, CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, type Instance } from '@aws-sdk/client-ec2';
import { AutoScalingGroups, AwsClients } from '@keiko/aws-kit';
import {
  createTestAwsAccount,
  NodeSimulator,
  type TestAwsAccount,
  testKubeConfig,
  uniqueName,
  waitFor,
} from '@keiko/testkit';
import { Registry } from 'prom-client';

export class AwsShim {
  readonly onDemand = new Map<string, number>([['m5.large', 0.096]]);
  /** `type@zone` -> price. */
  readonly spotPrices = new Map<string, number>();
  readonly activities = new Map<string, Activity[]>();
  readonly lifecycle = new Map<string, 'spot' | 'on-demand'>();
  readonly launching = new Map<string, 'spot' | 'on-demand'>();
  readonly calls = new Map<string, number>();
  /** The last UpdateAutoScalingGroup input per group, and how many were sent per group. */
  readonly lastUpdate = new Map<string, Record<string, unknown>>();
  readonly updates = new Map<string, number>();

  /** Every pool of these types and zones at this price. */
  setSpot(types: string[], zones: string[], price: number) {
    for (const t of types) for (const z of zones) this.spotPrices.set(`${t}@${z}`, price);
  }

  // biome-ignore lint/suspicious/noExplicitAny: any client's middleware stack
  customize = (client: { middlewareStack: any }, service: string) => {
    client.middlewareStack.add(
      // biome-ignore lint/suspicious/noExplicitAny: any command's input/output
      (next: any, context: { commandName?: string }) => async (args: { input: any }) => {
        const command = (context.commandName ?? '').replace(/Command$/, '');
        this.calls.set(`${service}:${command}`, (this.calls.get(`${service}:${command}`) ?? 0) + 1);
        const answer = this.answer(service, command, args.input);
        if (answer) return { output: { $metadata: { httpStatusCode: 200 }, ...answer }, response: {} };
        if (service === 'autoscaling' && command === 'UpdateAutoScalingGroup') {
          const pct =
            args.input.MixedInstancesPolicy?.InstancesDistribution?.OnDemandPercentageAboveBaseCapacity;
          this.lastUpdate.set(args.input.AutoScalingGroupName, args.input);
          this.updates.set(
            args.input.AutoScalingGroupName,
            (this.updates.get(args.input.AutoScalingGroupName) ?? 0) + 1,
          );
          if (pct !== undefined)
            this.launching.set(args.input.AutoScalingGroupName, pct === 0 ? 'spot' : 'on-demand');
        }
        const result = await next(args);
        if (service === 'ec2' && command === 'DescribeInstances') {
          for (const r of result.output.Reservations ?? [])
            for (const i of r.Instances ?? []) this.markLifecycle(i);
        }
        return result;
      },
      { step: 'initialize', name: 'minionManagerTestShim', priority: 'low' },
    );
  };

  /** Instances that exist before the controller runs: launched on-demand (moto's only kind). */
  markOnDemand(ids: readonly string[]) {
    for (const id of ids) this.lifecycle.set(id, 'on-demand');
  }

  /** The lifecycle AWS would have given an instance: fixed at first sight from its group's distribution. */
  private lifecycleOf(instanceId: string, group?: string): 'spot' | 'on-demand' {
    let l = this.lifecycle.get(instanceId);
    if (!l) {
      l = (group && this.launching.get(group)) || 'on-demand';
      this.lifecycle.set(instanceId, l);
    }
    return l;
  }

  private markLifecycle(i: Instance) {
    const group = i.Tags?.find((t) => t.Key === 'aws:autoscaling:groupName')?.Value;
    if (this.lifecycleOf(i.InstanceId as string, group) === 'spot') i.InstanceLifecycle = 'spot';
  }

  // biome-ignore lint/suspicious/noExplicitAny: command inputs
  private answer(service: string, command: string, input: any): Record<string, unknown> | undefined {
    if (service === 'pricing' && command === 'GetProducts') {
      const type = input.Filters?.find((f: { Field: string }) => f.Field === 'instanceType')?.Value;
      const price = this.onDemand.get(type);
      const entry = {
        product: {
          attributes: {
            instanceType: type,
            regionCode: input.Filters?.find((f: { Field: string }) => f.Field === 'regionCode')?.Value,
          },
        },
        terms: {
          OnDemand: {
            'X.JRTCKXETXF': {
              priceDimensions: {
                'X.JRTCKXETXF.6YS6EN2CT7': { unit: 'Hrs', pricePerUnit: { USD: String(price) } },
              },
            },
          },
        },
      };
      // Each entry as the SDK hands it over: a String object (its LazyJsonString), not a primitive.
      const asSdkReturnsIt = Object(JSON.stringify(entry)) as string;
      return { PriceList: price === undefined ? [] : [asSdkReturnsIt], FormatVersion: 'aws_v1' };
    }
    if (service === 'ec2' && command === 'DescribeSpotPriceHistory') {
      const types: string[] = input.InstanceTypes ?? [];
      const zones: string[] =
        input.Filters?.find((f: { Name: string }) => f.Name === 'availability-zone')?.Values ?? [];
      const history = [...this.spotPrices]
        .filter(
          ([k]) =>
            types.includes(k.split('@')[0] as string) &&
            (zones.length === 0 || zones.includes(k.split('@')[1] as string)),
        )
        .map(([k, price]) => ({
          InstanceType: k.split('@')[0],
          AvailabilityZone: k.split('@')[1],
          ProductDescription: 'Linux/UNIX',
          SpotPrice: String(price),
          Timestamp: new Date(),
        }));
      return { SpotPriceHistory: history, NextToken: '' };
    }
    if (service === 'autoscaling' && command === 'DescribeScalingActivities') {
      return { Activities: this.activities.get(input.AutoScalingGroupName) ?? [] };
    }
    return undefined;
  }
}

/** A spot launch failure as AWS reports it in the group's scaling activities. */
export function insufficientSpotCapacity(group: string, zone: string, at = new Date()): Activity {
  return {
    ActivityId: `act-${Math.random().toString(16).slice(2)}`,
    AutoScalingGroupName: group,
    Cause: `At ${at.toISOString()} an instance was started in response to a difference between desired and actual capacity.`,
    Description: 'Launching a new EC2 instance.  Status Reason: Could not launch Spot Instances.',
    StartTime: at,
    StatusCode: 'Failed',
    StatusMessage:
      'Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request. Launching EC2 instance failed.',
    Progress: 100,
    Details: JSON.stringify({ 'Subnet ID': 'subnet-0', 'Availability Zone': zone }),
  };
}

export interface TestEnv {
  account: TestAwsAccount;
  /** Clients for the test's own set-up and checks (no shim). */
  aws: AwsClients;
  asgs: AutoScalingGroups;
  sim: NodeSimulator;
}

export async function testEnv(prefix: string): Promise<TestEnv> {
  const account = await createTestAwsAccount({ clusterName: uniqueName(prefix) });
  const aws = await AwsClients.create({
    region: account.region,
    credentials: account.credentials,
    registry: new Registry(),
  });
  const sim = await NodeSimulator.forAccount(account, {
    kubeConfig: testKubeConfig(),
    bootDelayMs: 200,
    pollIntervalMs: 200,
  });
  return { account, aws, asgs: new AutoScalingGroups(aws), sim };
}

/** Clients for the controller, through the shim. */
export function controllerClients(account: TestAwsAccount, shim: AwsShim, registry = new Registry()) {
  return AwsClients.create({
    region: account.region,
    credentials: account.credentials,
    registry,
    customize: shim.customize,
  });
}

export interface GroupOptions {
  name: string;
  desired: number;
  tags: Record<string, string>;
  /** Node label so a test's pods can target this group's Nodes. */
  pool?: string;
  /** Use a launch configuration instead of a template. */
  launchConfiguration?: boolean;
  /** Create the group with a MixedInstancesPolicy (on-demand 100 %) rather than a plain template. */
  mixed?: boolean;
}

/** A group of m5.large instances in one subnet (moto places them all there), tagged for the cluster. */
export async function createGroup(env: TestEnv, o: GroupOptions) {
  const { account, aws } = env;
  const userData = `#!/bin/bash\n/etc/eks/bootstrap.sh ${account.clusterName} --kubelet-extra-args '--node-labels=keiko.dev/pool=${o.pool ?? o.name}'\n`;
  const tags = [
    { Key: account.clusterTagKey, Value: 'owned', PropagateAtLaunch: true },
    ...Object.entries(o.tags).map(([Key, Value]) => ({ Key, Value, PropagateAtLaunch: false })),
  ];
  const subnet = account.subnets[0]?.subnetId as string;
  if (o.launchConfiguration) {
    const { CreateLaunchConfigurationCommand } = await import('@aws-sdk/client-auto-scaling');
    await aws.autoScaling.send(
      new CreateLaunchConfigurationCommand({
        LaunchConfigurationName: o.name,
        ImageId: account.amis.al2023,
        InstanceType: 'm5.large',
      }),
    );
    await aws.autoScaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: o.name,
        LaunchConfigurationName: o.name,
        MinSize: 0,
        MaxSize: 10,
        DesiredCapacity: o.desired,
        VPCZoneIdentifier: subnet,
        Tags: tags,
      }),
    );
    return;
  }
  const lt = await aws.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: o.name,
      LaunchTemplateData: {
        ImageId: account.amis.al2023,
        InstanceType: 'm5.large',
        SecurityGroupIds: [account.securityGroups.node],
        UserData: Buffer.from(userData).toString('base64'),
      },
    }),
  );
  const spec = { LaunchTemplateId: lt.LaunchTemplate?.LaunchTemplateId as string, Version: '$Latest' };
  await aws.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: o.name,
      ...(o.mixed
        ? {
            MixedInstancesPolicy: {
              LaunchTemplate: { LaunchTemplateSpecification: spec },
              InstancesDistribution: { OnDemandPercentageAboveBaseCapacity: 100 },
            },
          }
        : { LaunchTemplate: spec }),
      MinSize: 0,
      MaxSize: 10,
      DesiredCapacity: o.desired,
      VPCZoneIdentifier: subnet,
      Tags: tags,
    }),
  );
}

export const ZONE_OF_FIRST_SUBNET = (account: TestAwsAccount) =>
  account.subnets[0]?.availabilityZone as string;

export async function groupNow(env: TestEnv, name: string) {
  return (await env.asgs.get(name, { ttlMs: 0 })) as NonNullable<
    Awaited<ReturnType<AutoScalingGroups['get']>>
  >;
}

export async function waitForGroupNodes(env: TestEnv, name: string, count: number) {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const core = testKubeConfig().makeApiClient(CoreV1Api);
  return waitFor(
    async () => {
      const g = await groupNow(env, name);
      const ids = new Set((g.Instances ?? []).map((i) => i.InstanceId));
      const nodes = (await core.listNode()).items.filter((n) =>
        ids.has(n.spec?.providerID?.split('/').pop()),
      );
      const ready = nodes.filter((n) =>
        n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return ready.length === count && ids.size === count && nodes;
    },
    { description: `${count} Ready Nodes for ${name}`, timeoutMs: 120_000, intervalMs: 250 },
  );
}

export const UPGRADE_MANAGER_CRD = new URL(
  '../../../deploy/charts/upgrade-manager/crds/upgrademgr.keikoproj.io_rollingupgrades.yaml',
  import.meta.url,
).pathname;

/** Starts minion-manager in-process on the real API server, with the shimmed AWS clients. */
export async function startController(
  env: TestEnv,
  shim: AwsShim,
  namespace: string,
  extraFlags: string[] = [],
  gracefulShutdownMs = 30_000,
) {
  const { Manager, createLogger } = await import('@keiko/operator-kit');
  const { parseConfig } = await import('../src/config.js');
  const { registerMinionManager } = await import('../src/controller/setup.js');
  const { MinionMetrics } = await import('../src/controller/metrics.js');
  const { PricingApiOnDemand } = await import('../src/pricing/on-demand.js');
  const { Ec2SpotPrices } = await import('../src/pricing/spot.js');
  const { Ec2 } = await import('@keiko/aws-kit');
  const config = parseConfig(
    [
      '--cluster-name',
      env.account.clusterName,
      '--refresh-interval-seconds',
      '1',
      '--replacement-poll-seconds',
      '0.3',
      '--eviction-retry-seconds',
      '0.5',
      '--drain-timeout-seconds',
      '60',
      '--min-dwell-seconds',
      '0',
      '--recommendation-refresh-seconds',
      '1',
      ...extraFlags,
    ],
    { POD_NAMESPACE: namespace },
  );
  const logger = createLogger({
    level: process.env.TEST_LOG_LEVEL ?? 'warn',
    base: { app: 'minion-manager-test' },
  });
  const manager = await Manager.create({
    name: 'minion-manager',
    kubeConfig: testKubeConfig(),
    logger,
    gracefulShutdownMs,
  });
  const aws = await controllerClients(env.account, shim, manager.registry);
  const ec2 = new Ec2(aws);
  const metrics = new MinionMetrics(manager.registry);
  await registerMinionManager(manager, config, {
    aws,
    asgs: new AutoScalingGroups(aws),
    ec2,
    onDemand: new PricingApiOnDemand(aws, { region: aws.region, ttlMs: 60_000 }),
    spot: new Ec2SpotPrices(ec2),
    metrics,
    now: Date.now,
  });
  await manager.start();
  return {
    manager,
    metrics,
    config,
    stop: async () => {
      await manager.stop();
      aws.destroy();
    },
  };
}

/** Samples a condition in the background; `violations` lists every sample that broke it. */
export function sampler(intervalMs: number, check: () => Promise<string | undefined>) {
  const violations: string[] = [];
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const v = await check();
        samples++;
        if (v) violations.push(v);
      } catch {
        // a transient read failure is not a sample
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    violations,
    get samples() {
      return samples;
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
