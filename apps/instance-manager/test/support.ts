/**
 * Shared set-up of the integration tests: the jest run's control plane and moto, an isolated AWS
 * account per file, the node simulator for its cluster, the CRD, and the controller in-process.
 */
import { fileURLToPath } from 'node:url';
import { type AccessEntry, ResourceInUseException, ResourceNotFoundException } from '@aws-sdk/client-eks';
import { AutoScalingGroups, AwsClients, type InstrumentableClient, type ServiceName } from '@keiko/aws-kit';
import {
  CoreResources,
  createLogger,
  KubeClient,
  type KubeObject,
  Manager,
  silentLogger,
} from '@keiko/operator-kit';
import {
  createTestAwsAccount,
  createTestNamespace,
  installCrds,
  NodeSimulator,
  type TestAwsAccount,
  testKubeConfig,
  uniqueName,
  waitFor,
} from '@keiko/testkit';
import type { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { type InstanceGroup, InstanceGroups } from '../src/api/instancegroup.js';
import { countAwsCalls } from '../src/controller/aws-calls.js';
import {
  type InstanceGroupControllerOptions,
  instanceGroupController,
} from '../src/controller/instancegroup.js';
import { groupNames } from '../src/planner/naming.js';

export const CHART_DIR = fileURLToPath(new URL('../../../deploy/charts/instance-manager', import.meta.url));
export const CRD_FILE = `${CHART_DIR}/crds/instancemgr.keikoproj.io_instancegroups.yaml`;

export interface NodeObject extends KubeObject {
  spec?: {
    providerID?: string;
    unschedulable?: boolean;
    taints?: { key: string; value?: string; effect: string }[];
  };
  status?: { conditions?: { type: string; status: string }[] };
}

export interface Env {
  account: TestAwsAccount;
  aws: AwsClients;
  client: KubeClient;
  sim: NodeSimulator;
  namespace: string;
  configNamespace: string;
  close(): Promise<void>;
}

export async function setupEnv(prefix: string): Promise<Env> {
  const kc = testKubeConfig();
  await installCrds(kc, CRD_FILE);
  const account = await createTestAwsAccount({ clusterName: uniqueName(prefix) });
  const sim = await NodeSimulator.forAccount(account, {
    kubeConfig: kc,
    pollIntervalMs: 200,
    onError: () => undefined,
  });
  const namespace = await createTestNamespace(kc, prefix);
  const configNamespace = await createTestNamespace(kc, `${prefix}-cfg`);
  const client = await KubeClient.fromKubeConfig(kc, 'instance-manager-test');
  const aws = await AwsClients.create({
    region: account.region,
    credentials: account.credentials,
    customize: motoGapsShim,
  });
  return {
    account,
    aws,
    client,
    sim,
    namespace,
    configNamespace,
    close: async () => {
      await sim.stop();
      aws.destroy();
      client.transport.close();
    },
  };
}

/**
 * Gaps of moto 5.2.5, bridged in-process. IAM: it has no AWS-managed IAM policies unless started with
 * MOTO_IAM_LOAD_MANAGED_POLICIES=true, which testkit does not pass (and moto cannot switch on at run
 * time). This in-process shim answers Attach/DetachRolePolicy for `arn:aws:iam::aws:policy/*` and adds
 * them to ListAttachedRolePolicies; everything else (roles, profiles, customer policies) is moto's.
 * (moto's CreateLaunchTemplateVersion UserData bug is fixed in testkit's moto launcher, so every
 * launch template version here carries its user data and every Node its group's labels and taints.)
 * EKS: access entries, see {@link accessEntriesShim}.
 */
const shimAttached = new Map<string, Set<string>>();
export function motoGapsShim(client: InstrumentableClient, service: ServiceName): void {
  if (process.env.IM_TEST_LOG)
    client.middlewareStack.add(
      // biome-ignore lint/suspicious/noExplicitAny: SDK middleware signature
      (next: any, context: any) => async (args: any) => {
        try {
          return await next(args);
        } catch (err) {
          console.error(
            'AWS call failed',
            context.commandName,
            JSON.stringify(args.input).slice(0, 500),
            (err as Error).message.slice(0, 200),
          );
          throw err;
        }
      },
      { step: 'initialize', name: 'debugFailures' },
    );
  if (service === 'eks') accessEntriesShim(client);
  if (service !== 'iam') return;
  client.middlewareStack.add(
    // biome-ignore lint/suspicious/noExplicitAny: SDK middleware signature
    (next: any, context: any) => async (args: any) => {
      const input = args.input as { RoleName?: string; PolicyArn?: string };
      const aws = input.PolicyArn?.startsWith('arn:aws:iam::aws:policy/');
      const set = shimAttached.get(input.RoleName ?? '') ?? new Set<string>();
      shimAttached.set(input.RoleName ?? '', set);
      if (context.commandName === 'AttachRolePolicyCommand' && aws) {
        set.add(input.PolicyArn!);
        return { output: { $metadata: {} } };
      }
      if (context.commandName === 'DetachRolePolicyCommand' && aws) {
        set.delete(input.PolicyArn!);
        return { output: { $metadata: {} } };
      }
      if (context.commandName === 'DeleteRoleCommand') shimAttached.delete(input.RoleName ?? '');
      const result = await next(args);
      if (context.commandName === 'ListAttachedRolePoliciesCommand') {
        const out = result.output as { AttachedPolicies?: { PolicyArn?: string; PolicyName?: string }[] };
        out.AttachedPolicies = [
          ...(out.AttachedPolicies ?? []),
          ...[...set].map((PolicyArn) => ({ PolicyArn, PolicyName: PolicyArn.split('/').pop() })),
        ];
      }
      return result;
    },
    { step: 'initialize', name: 'motoGapsShim' },
  );
}

/**
 * Starts the controller in-process, with short poll/resync periods; as the cluster admin unless
 * `kubeConfig` says otherwise (e.g. a chart ServiceAccount's, from testkit chartIdentity).
 */
export async function startController(
  env: Env,
  options: Partial<InstanceGroupControllerOptions> = {},
  kubeConfig: KubeConfig = testKubeConfig(),
): Promise<{ manager: Manager; aws: AwsClients; registry: Registry }> {
  const registry = new Registry();
  const manager = await Manager.create({
    name: 'instance-manager',
    kubeConfig,
    logger: process.env.IM_TEST_LOG ? createLogger({ level: process.env.IM_TEST_LOG }) : silentLogger(),
    registry,
    gracefulShutdownMs: 2_000,
  });
  const aws = await AwsClients.create({
    region: env.account.region,
    credentials: env.account.credentials,
    registry,
    customize: (client, service) => {
      countAwsCalls(client, service);
      motoGapsShim(client, service);
    },
  });
  instanceGroupController(manager, {
    aws,
    configNamespace: env.configNamespace,
    pollMs: 500,
    resyncMs: 30_000,
    drainTimeoutMs: 5_000,
    registry,
    ...options,
  });
  await manager.start();
  return { manager, aws, registry };
}

/** An upstream-style InstanceGroup for the test account. */
export function instanceGroup(
  env: Env,
  name: string,
  overrides: Record<string, unknown> = {},
): InstanceGroup {
  return {
    apiVersion: 'instancemgr.keikoproj.io/v1alpha1',
    kind: 'InstanceGroup',
    metadata: { name, namespace: env.namespace },
    spec: {
      provisioner: 'eks',
      strategy: { type: 'rollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      eks: {
        minSize: 2,
        maxSize: 4,
        configuration: {
          clusterName: env.account.clusterName,
          image: 'latest',
          instanceType: 'm5.large',
          // by Name tag and by id
          subnets: env.account.subnets.map((s) => s.name),
          securityGroups: [env.account.securityGroups.node],
          labels: { team: 'data', 'keiko.dev/pool': name },
          taints: [{ key: 'dedicated', value: name, effect: 'NoSchedule' }],
          ...overrides,
        },
      },
    },
  } as InstanceGroup;
}

export async function getGroup(env: Env, name: string): Promise<InstanceGroup> {
  return env.client.get<InstanceGroup>(InstanceGroups, name, env.namespace);
}

/** The Nodes of a group's ASG instances (by providerID, so a Node's labels are checked, not assumed). */
export async function groupNodes(env: Env, name: string): Promise<NodeObject[]> {
  const asgName = groupNames({
    clusterName: env.account.clusterName,
    namespace: env.namespace,
    name,
  }).autoScalingGroup;
  const asg = await new AutoScalingGroups(env.aws).get(asgName, { ttlMs: 0 });
  const ids = new Set((asg?.Instances ?? []).map((i) => i.InstanceId));
  const list = await env.client.list<NodeObject>(CoreResources.nodes, {
    labelSelector: `testkit.keiko.dev/simulated-cluster=${env.account.clusterName}`,
  });
  return list.items.filter((n) => ids.has(n.spec?.providerID?.split('/').pop()));
}

export const isReady = (n: NodeObject) =>
  n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

export async function waitForState(
  env: Env,
  name: string,
  state: string,
  timeoutMs = 90_000,
): Promise<InstanceGroup> {
  let last: unknown;
  try {
    return await waitFor(
      async () => {
        const g = await getGroup(env, name);
        last = g.status;
        return g.status?.currentState === state && g.status.observedGeneration === g.metadata.generation && g;
      },
      { description: `InstanceGroup ${name} to be ${state}`, timeoutMs, intervalMs: 250 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last)}`);
  }
}

export const condition = (g: InstanceGroup, type: string) =>
  g.status?.conditions?.find((c) => c.type === type);

/** waitFor on a group; on timeout the error carries the group's last status (state and conditions). */
export async function waitForGroup(
  env: Env,
  name: string,
  probe: (g: InstanceGroup, nodes: NodeObject[]) => boolean,
  description: string,
  timeoutMs = 90_000,
): Promise<InstanceGroup> {
  let last: unknown;
  try {
    return await waitFor(
      async () => {
        const g = await getGroup(env, name);
        const nodes = await groupNodes(env, name);
        last = {
          status: g.status,
          nodes: nodes.map((n) => [
            n.metadata.name,
            n.metadata.labels?.['node.kubernetes.io/instance-type'],
            isReady(n),
            n.spec?.unschedulable,
          ]),
        };
        return probe(g, nodes) && g;
      },
      { description, timeoutMs, intervalMs: 250 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}`);
  }
}

/**
 * The second gap: moto 5.2.5 has no EKS access-entry API (moto/eks/urls.py routes clusters, node
 * groups and Fargate profiles only). This in-process stand-in answers Create/Describe/Delete/
 * ListAccessEntries from a map with AWS's shapes and errors (ResourceInUseException when the
 * principal has an entry, ResourceNotFoundException when it has none, InvalidParameterException
 * for a type EC2 nodes cannot have or kubernetesGroups on an EC2 entry); every other EKS call
 * (DescribeCluster included) is moto's. It does not check that the cluster or the role exists.
 * Shared by every client of the process, keyed by cluster, so tests inspect it through the SDK.
 */
const accessEntries = new Map<string, Map<string, AccessEntry>>();
const ACCESS_ENTRY_COMMANDS = new Set([
  'CreateAccessEntryCommand',
  'DescribeAccessEntryCommand',
  'DeleteAccessEntryCommand',
  'ListAccessEntriesCommand',
]);
/** Access-entry calls answered by the stand-in, by command name (for assertions on what was called). */
export const accessEntryCalls: { command: string; clusterName: string; principalArn?: string }[] = [];
function accessEntriesShim(client: InstrumentableClient): void {
  client.middlewareStack.add(
    // biome-ignore lint/suspicious/noExplicitAny: SDK middleware signature
    (next: any, context: any) => async (args: any) => {
      const command = context.commandName as string;
      if (!ACCESS_ENTRY_COMMANDS.has(command)) return next(args);
      const input = args.input as {
        clusterName: string;
        principalArn?: string;
        type?: string;
        kubernetesGroups?: string[];
        tags?: Record<string, string>;
      };
      accessEntryCalls.push({
        command,
        clusterName: input.clusterName,
        ...(input.principalArn ? { principalArn: input.principalArn } : {}),
      });
      const entries = accessEntries.get(input.clusterName) ?? new Map<string, AccessEntry>();
      accessEntries.set(input.clusterName, entries);
      const $metadata = { httpStatusCode: 200 };
      const notFound = () =>
        new ResourceNotFoundException({
          message: `The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.`,
          $metadata: { httpStatusCode: 404 },
          clusterName: input.clusterName,
        });
      const principal = input.principalArn ?? '';
      switch (command) {
        case 'CreateAccessEntryCommand': {
          if (entries.has(principal))
            throw new ResourceInUseException({
              message: 'The specified access entry resource is already in use on this cluster.',
              $metadata: { httpStatusCode: 409 },
              clusterName: input.clusterName,
            });
          const type = input.type ?? 'STANDARD';
          const invalid = (message: string) =>
            Object.assign(new Error(message), {
              name: 'InvalidParameterException',
              $fault: 'client',
              $metadata: { httpStatusCode: 400 },
            });
          if (
            !['STANDARD', 'EC2_LINUX', 'EC2_WINDOWS', 'FARGATE_LINUX', 'EC2', 'HYBRID_LINUX'].includes(type)
          )
            throw invalid(`The type ${type} is not valid.`);
          if (type !== 'STANDARD' && input.kubernetesGroups?.length)
            throw invalid(`kubernetesGroups cannot be specified for an access entry of type ${type}.`);
          const name = principal.split('/').pop();
          const entry: AccessEntry = {
            clusterName: input.clusterName,
            principalArn: principal,
            type,
            kubernetesGroups: input.kubernetesGroups ?? [],
            username: type === 'STANDARD' ? principal : 'system:node:{{EC2PrivateDNSName}}',
            accessEntryArn: `arn:aws:eks:us-east-1:000000000000:access-entry/${input.clusterName}/role/${name}`,
            createdAt: new Date(),
            modifiedAt: new Date(),
            tags: { ...(input.tags ?? {}) },
          };
          entries.set(principal, entry);
          return { output: { accessEntry: structuredClone(entry), $metadata } };
        }
        case 'DescribeAccessEntryCommand': {
          const entry = entries.get(principal);
          if (!entry) throw notFound();
          return { output: { accessEntry: structuredClone(entry), $metadata } };
        }
        case 'DeleteAccessEntryCommand': {
          if (!entries.delete(principal)) throw notFound();
          return { output: { $metadata } };
        }
        default:
          return { output: { accessEntries: [...entries.keys()].sort(), $metadata } };
      }
    },
    { step: 'initialize', name: 'accessEntriesShim' },
  );
}
