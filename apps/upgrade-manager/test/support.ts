/**
 * Shared set-up of the integration tests: an isolated emulator account with an ASG of Ready nodes
 * (node simulator), the CRD, a namespace with a Deployment guarded by a PDB, the controller in-process,
 * and an availability sampler that checks the maxUnavailable invariant throughout a roll.
 */
import { fileURLToPath } from 'node:url';
import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DescribeInstancesCommand,
  ModifyLaunchTemplateCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll } from '@jest/globals';
import { AutoScalingGroups, AwsClients } from '@keiko/aws-kit';
import {
  CoreResources,
  createLogger,
  KubeClient,
  type KubeObject,
  Manager,
  type Resource,
  silentLogger,
} from '@keiko/operator-kit';
import {
  createTestAwsAccount,
  createTestNamespace,
  installCrds,
  NodeSimulator,
  SIMULATED_CLUSTER_LABEL,
  type TestAwsAccount,
  testKubeConfig,
  uniqueName,
  waitFor,
} from '@keiko/testkit';
import { Registry } from 'prom-client';
import type { RollingUpgrade, RollingUpgradeSpec } from '../src/api/rollingupgrade.js';
import { RollingUpgrades } from '../src/api/rollingupgrade.js';
import { type Config, DEFAULTS } from '../src/config.js';
import type { NodeObject } from '../src/controller/observe.js';
import { rollingUpgradeController } from '../src/controller/rollingupgrade.js';

export const CHART_DIR = fileURLToPath(new URL('../../../deploy/charts/upgrade-manager', import.meta.url));
export const CRD_DIR = `${CHART_DIR}/crds/upgrademgr.keikoproj.io_rollingupgrades.yaml`;

export const Deployments: Resource = {
  group: 'apps',
  version: 'v1',
  plural: 'deployments',
  kind: 'Deployment',
  namespaced: true,
};
export const Pdbs: Resource = {
  group: 'policy',
  version: 'v1',
  plural: 'poddisruptionbudgets',
  kind: 'PodDisruptionBudget',
  namespaced: true,
};

export interface RollWorld {
  account: TestAwsAccount;
  aws: AwsClients;
  asgs: AutoScalingGroups;
  client: KubeClient;
  sim: NodeSimulator;
  namespace: string;
  asgName: string;
  launchTemplateId: string;
  pool: string;
  userData: string;
  destroy(): Promise<void>;
}

/** An account with an ASG of `size` Ready nodes (launch template version 1), a namespace and the CRD. */
export async function rollWorld(
  prefix: string,
  size: number,
  options: { bootDelayMs?: number } = {},
): Promise<RollWorld> {
  const kc = testKubeConfig();
  await installCrds(kc, CRD_DIR);
  const account = await createTestAwsAccount({ clusterName: uniqueName(prefix) });
  const aws = await AwsClients.create({ region: account.region, credentials: account.credentials });
  const asgs = new AutoScalingGroups(aws);
  const pool = account.clusterName;
  const asgName = `${account.clusterName}-workers`;
  const userData = `#!/bin/bash\n/etc/eks/bootstrap.sh ${account.clusterName} --kubelet-extra-args '--node-labels=keiko.dev/pool=${pool}'\n`;
  const lt = await aws.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: asgName,
      LaunchTemplateData: {
        ImageId: account.amis.al2023,
        InstanceType: 'm5.large',
        SecurityGroupIds: [account.securityGroups.node],
        UserData: Buffer.from(userData).toString('base64'),
      },
    }),
  );
  const launchTemplateId = lt.LaunchTemplate!.LaunchTemplateId!;
  await aws.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: asgName,
      LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: '$Latest' },
      MinSize: 0,
      MaxSize: size * 3,
      DesiredCapacity: size,
      VPCZoneIdentifier: account.subnets.map((s) => s.subnetId).join(','),
      Tags: [{ Key: account.clusterTagKey, Value: 'owned', PropagateAtLaunch: true }],
    }),
  );
  const sim = await NodeSimulator.forAccount(account, {
    kubeConfig: kc,
    bootDelayMs: options.bootDelayMs ?? 1000,
    pollIntervalMs: 200,
  });
  const client = await KubeClient.fromKubeConfig(kc, 'upgrade-manager-test');
  const namespace = await createTestNamespace(kc, prefix);
  const world: RollWorld = {
    account,
    aws,
    asgs,
    client,
    sim,
    namespace,
    asgName,
    launchTemplateId,
    pool,
    userData,
    destroy: async () => {
      await sim.stop();
      aws.destroy();
      client.transport.close();
    },
  };
  try {
    await waitFor(async () => (await readyNodes(world)).length === size, {
      timeoutMs: 60_000,
      description: `${size} Ready nodes`,
    });
  } catch (err) {
    // Nobody else holds the world yet: stop the simulator, or its polling keeps jest alive.
    await world.destroy();
    throw err;
  }
  return world;
}

export async function clusterNodes(world: RollWorld): Promise<NodeObject[]> {
  return (
    await world.client.list<NodeObject>(CoreResources.nodes, {
      labelSelector: `${SIMULATED_CLUSTER_LABEL}=${world.account.clusterName}`,
    })
  ).items;
}
const isReady = (n: NodeObject) =>
  n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
export async function readyNodes(world: RollWorld): Promise<NodeObject[]> {
  return (await clusterNodes(world)).filter(isReady);
}

/** A new template version (same user data: the pool label), made the default too. */
export async function newLaunchTemplateVersion(world: RollWorld, imageId?: string): Promise<string> {
  const v = await world.aws.ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateId: world.launchTemplateId,
      LaunchTemplateData: {
        ImageId: imageId ?? world.account.amis.al2023,
        InstanceType: 'm5.large',
        SecurityGroupIds: [world.account.securityGroups.node],
        UserData: Buffer.from(world.userData).toString('base64'),
      },
    }),
  );
  const version = String(v.LaunchTemplateVersion!.VersionNumber);
  await world.aws.ec2.send(
    new ModifyLaunchTemplateCommand({ LaunchTemplateId: world.launchTemplateId, DefaultVersion: version }),
  );
  world.aws.invalidate(`ec2:lt:${world.launchTemplateId}`);
  return version;
}

/** A Deployment spread over the pool's nodes, guarded by a PDB (maxUnavailable 1). */
export async function deployWithPdb(
  world: RollWorld,
  app: string,
  replicas: number,
  pdbMaxUnavailable = 1,
): Promise<void> {
  const { client, namespace, pool } = world;
  await client.create(Deployments, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app } },
      template: {
        metadata: { labels: { app } },
        spec: {
          nodeSelector: { 'keiko.dev/pool': pool },
          tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' }],
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: { app } },
            },
          ],
          containers: [{ name: 'c', image: 'registry.example/app:1' }],
        },
      },
    },
  } as KubeObject);
  await client.create(Pdbs, {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: app, namespace },
    spec: { selector: { matchLabels: { app } }, maxUnavailable: pdbMaxUnavailable },
  } as KubeObject);
  await waitFor(async () => (await runningPods(world, app)).length === replicas, {
    timeoutMs: 60_000,
    description: `${replicas} pods running`,
  });
}

export async function runningPods(world: RollWorld, app: string) {
  const pods = await world.client.list<KubeObject & { status?: { phase?: string } }>(CoreResources.pods, {
    namespace: world.namespace,
    labelSelector: `app=${app}`,
  });
  return pods.items.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running');
}

export interface RollFixture {
  world: RollWorld;
  controller: Awaited<ReturnType<typeof startController>>;
}

/**
 * The usual set-up of a test file, registered as its beforeAll/afterAll: a world of `size` nodes, a
 * Deployment guarded by a PDB when `app` is given, and the controller in-process (with `config`).
 * Read `fixture.world` inside tests (it exists once beforeAll ran).
 */
export function useRollWorld(
  prefix: string,
  size: number,
  options: {
    bootDelayMs?: number;
    app?: { name: string; replicas: number; pdbMaxUnavailable?: number };
    config?: (world: RollWorld) => Partial<Config>;
  } = {},
): RollFixture {
  const fixture = {} as RollFixture;
  beforeAll(async () => {
    fixture.world = await rollWorld(prefix, size, { bootDelayMs: options.bootDelayMs });
    const { app } = options;
    if (app) await deployWithPdb(fixture.world, app.name, app.replicas, app.pdbMaxUnavailable);
    fixture.controller = await startController(fixture.world, options.config?.(fixture.world));
  }, 120_000);
  afterAll(async () => {
    await fixture.controller?.stop();
    await fixture.world?.destroy();
  });
  return fixture;
}

/** The controller in this process, watching only the test's namespace. */
export async function startController(world: RollWorld, config: Partial<Config> = {}) {
  const registry = new Registry();
  const aws = await AwsClients.create({
    region: world.account.region,
    credentials: world.account.credentials,
    registry,
  });
  const manager = await Manager.create({
    name: 'upgrade-manager',
    kubeConfig: testKubeConfig(),
    logger: process.env.UM_TEST_LOG ? createLogger({ level: process.env.UM_TEST_LOG }) : silentLogger(),
    registry,
  });
  rollingUpgradeController(manager, {
    config: { ...DEFAULTS, namespace: world.namespace, requeueSeconds: 1, ...config },
    aws,
    registry,
  });
  await manager.start();
  return {
    manager,
    aws,
    registry,
    stop: async () => {
      await manager.stop();
      aws.destroy();
    },
  };
}

export async function createRollingUpgrade(
  world: RollWorld,
  name: string,
  spec: Partial<RollingUpgradeSpec>,
): Promise<RollingUpgrade> {
  return world.client.create<RollingUpgrade>(RollingUpgrades, {
    apiVersion: 'upgrademgr.keikoproj.io/v1alpha1',
    kind: 'RollingUpgrade',
    metadata: { name, namespace: world.namespace },
    spec: { asgName: world.asgName, ...spec },
  });
}

export async function getRollingUpgrade(world: RollWorld, name: string): Promise<RollingUpgrade> {
  return world.client.get<RollingUpgrade>(RollingUpgrades, name, world.namespace);
}

/**
 * Samples the pool's nodes every `intervalMs` while a roll runs: the most nodes unavailable at once
 * (desired minus Ready and schedulable), and the fewest available nodes seen in each zone.
 */
export function sampleAvailability(world: RollWorld, desired: number, intervalMs = 100) {
  let maxUnavailable = 0;
  let samples = 0;
  let stopped = false;
  const worst: string[] = [];
  const minAvailablePerZone = new Map<string, number>();
  const loop = (async () => {
    while (!stopped) {
      try {
        const nodes = await clusterNodes(world);
        const availableNodes = nodes.filter((n) => isReady(n) && !n.spec?.unschedulable);
        const available = availableNodes.length;
        const perZone = new Map<string, number>();
        for (const n of nodes) {
          const zone = n.metadata.labels?.['topology.kubernetes.io/zone'] ?? 'unknown';
          perZone.set(zone, (perZone.get(zone) ?? 0) + (availableNodes.includes(n) ? 1 : 0));
        }
        for (const [zone, count] of perZone)
          minAvailablePerZone.set(zone, Math.min(minAvailablePerZone.get(zone) ?? count, count));
        const unavailable = desired - available;
        samples++;
        if (unavailable > maxUnavailable) {
          maxUnavailable = unavailable;
          worst.push(
            `${new Date().toISOString()} ${unavailable} unavailable: ${nodes.map((n) => `${n.metadata.name}${isReady(n) ? '' : '(NotReady)'}${n.spec?.unschedulable ? '(cordoned)' : ''}`).join(' ')}`,
          );
        }
      } catch {
        // a failed sample is just skipped
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { maxUnavailable, samples, worst, minAvailablePerZone };
    },
  };
}

/** Every instance the account ever launched for this cluster, with its state. */
export async function allInstances(world: RollWorld) {
  const out = await world.aws.ec2.send(
    new DescribeInstancesCommand({ Filters: [{ Name: `tag-key`, Values: [world.account.clusterTagKey] }] }),
  );
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}
