/**
 * The whole life of an InstanceGroup on the real control plane + moto + node simulator:
 * created -> Ready with Nodes carrying its labels and taints; instance type, a label and the taint
 * changed -> a new launch template version and every node rolled, never more than maxUnavailable down
 * (sampled throughout), every replacement Node carrying the new label and taint from the new user data;
 * deleted -> ASG, launch template, node role, instance profile and its aws-auth entry gone; another
 * group's (other namespace) entry, ASG and Node and a foreign aws-auth entry untouched.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { AutoScalingGroups, Ec2 } from '@keiko/aws-kit';
import { CoreResources, type KubeObject, type Manager } from '@keiko/operator-kit';
import { createTestNamespace, testKubeConfig, waitFor } from '@keiko/testkit';
import { parse, stringify } from 'yaml';
import { InstanceGroups } from '../src/api/instancegroup.js';
import { groupNames, TAG_GROUP } from '../src/planner/naming.js';
import {
  condition,
  type Env,
  groupNodes,
  instanceGroup,
  isReady,
  setupEnv,
  startController,
  waitForGroup,
  waitForState,
} from './support.js';

let env: Env;
let manager: Manager;

beforeAll(async () => {
  env = await setupEnv('im-life');
  ({ manager } = await startController(env));
});
afterAll(async () => {
  await manager?.stop();
  await env?.close();
});

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}
const Deployments = {
  group: 'apps',
  version: 'v1',
  plural: 'deployments',
  kind: 'Deployment',
  namespaced: true,
};
const Pdbs = {
  group: 'policy',
  version: 'v1',
  plural: 'poddisruptionbudgets',
  kind: 'PodDisruptionBudget',
  namespaced: true,
};
const FOREIGN_ROLE = 'arn:aws:iam::111122223333:role/someone-elses-nodes';

test('create, roll on instance type change, delete', async () => {
  const { client, namespace, account } = env;
  // A mapping someone else owns must survive everything below. Other suites' controllers write
  // the same ConfigMap at the same time, so this is a read-modify-write retried on conflict, and
  // the YAML is parsed and re-written, never appended to (`[]` plus appended text is not YAML).
  const foreign = { rolearn: FOREIGN_ROLE, username: 'x', groups: ['system:nodes'] };
  // waitFor retries a probe that throws: a 409 (someone wrote in between) is read again.
  await waitFor(
    async () => {
      const existing = await client.getOrUndefined<ConfigMap>(
        CoreResources.configMaps,
        'aws-auth',
        'kube-system',
      );
      if (!existing) {
        await client.create(CoreResources.configMaps, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'aws-auth', namespace: 'kube-system' },
          data: { mapRoles: stringify([foreign]) },
        } as ConfigMap);
        return true;
      }
      const roles = ((existing.data?.mapRoles ? parse(existing.data.mapRoles) : []) ?? []) as {
        rolearn: string;
      }[];
      if (roles.some((r) => r.rolearn === FOREIGN_ROLE)) return true;
      await client.update(CoreResources.configMaps, {
        ...existing,
        data: { ...existing.data, mapRoles: stringify([...roles, foreign]) },
      });
      return true;
    },
    { description: 'the foreign aws-auth entry to be written', timeoutMs: 30_000 },
  );

  // Another tenant's group (its own namespace and role): its aws-auth entry, ASG and Nodes must
  // survive everything done to 'workers' below.
  const neighbourEnv: Env = { ...env, namespace: await createTestNamespace(testKubeConfig(), 'im-life-b') };
  const neighbour = instanceGroup(neighbourEnv, 'neighbour');
  neighbour.spec.eks!.minSize = 1;
  await client.create(InstanceGroups, neighbour);
  await client.create(InstanceGroups, instanceGroup(env, 'workers'));
  const ready = await waitForState(env, 'workers', 'Ready', 30_000);
  const neighbourReady = await waitForState(neighbourEnv, 'neighbour', 'Ready', 30_000);
  const neighbourNames = groupNames({
    clusterName: account.clusterName,
    namespace: neighbourEnv.namespace,
    name: 'neighbour',
  });
  expect(neighbourReady.status!.nodesInstanceRoleArn).not.toBe(ready.status!.nodesInstanceRoleArn);
  expect(condition(ready, 'Ready')).toMatchObject({ status: 'True' });
  expect(condition(ready, 'NodesReady')).toMatchObject({ status: 'True' });
  const names = groupNames({ clusterName: account.clusterName, namespace, name: 'workers' });
  expect(ready.status).toMatchObject({
    currentMin: 2,
    currentMax: 4,
    activeScalingGroupName: names.autoScalingGroup,
    activeLaunchTemplateName: names.launchTemplate,
    latestTemplateVersion: '1',
    provisioner: 'eks',
    strategy: 'rollingUpdate',
    lifecycle: 'normal',
  });
  const nodes = await groupNodes(env, 'workers');
  expect(nodes).toHaveLength(2);
  for (const n of nodes) {
    expect(isReady(n)).toBe(true);
    expect(n.metadata.labels).toMatchObject({
      team: 'data',
      'node.kubernetes.io/role': 'workers',
      'instancemgr.keikoproj.io/lifecycle': 'normal',
      'instancemgr.keikoproj.io/image': account.amis.al2023,
      'node.kubernetes.io/instance-type': 'm5.large',
    });
    expect(n.spec?.taints).toContainEqual(
      expect.objectContaining({ key: 'dedicated', value: 'workers', effect: 'NoSchedule' }),
    );
  }
  const asgs = new AutoScalingGroups(env.aws);
  const asg = await asgs.get(names.autoScalingGroup, { ttlMs: 0 });
  expect(asg?.Tags).toContainEqual(expect.objectContaining({ Key: TAG_GROUP, Value: 'workers' }));
  const authed = await client.get<ConfigMap>(CoreResources.configMaps, 'aws-auth', 'kube-system');
  const roles = (parse(authed.data!.mapRoles!) as { rolearn: string }[]).map((r) => r.rolearn);
  expect(roles).toContain(ready.status!.nodesInstanceRoleArn);
  expect(roles).toContain(neighbourReady.status!.nodesInstanceRoleArn);
  expect(roles).toContain(FOREIGN_ROLE);

  // A workload with a PDB on the group's nodes: the roll must drain through the Eviction API.
  await client.create(Deployments, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          // On the group's Nodes by its own label (the neighbour's Nodes are in the same cluster).
          nodeSelector: { 'keiko.dev/pool': 'workers' },
          // Only the group's own taint: a cordoned node (unschedulable taint) must not take pods back.
          tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }],
          containers: [{ name: 'c', image: 'registry.example/web:1' }],
        },
      },
    },
  } as KubeObject);
  await client.create(Pdbs, {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'web', namespace },
    spec: { selector: { matchLabels: { app: 'web' } }, minAvailable: 1 },
  } as KubeObject);
  const running = async () =>
    (
      await client.list<KubeObject & { status?: { phase?: string } }>(CoreResources.pods, {
        namespace,
        labelSelector: 'app=web',
      })
    ).items.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running');
  await waitFor(async () => (await running()).length === 2, {
    description: '2 web pods running',
    timeoutMs: 60_000,
  });
  const podsBefore = new Set((await running()).map((p) => p.metadata.name));

  // Roll: change the instance type; sample availability (nodes and pods) all along, and record
  // that every old node was cordoned before it went.
  let minAvailable = Number.POSITIVE_INFINITY;
  let minRunningPods = Number.POSITIVE_INFINITY;
  const cordoned = new Set<string>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const list = await groupNodes(env, 'workers');
      const available = list.filter((n) => isReady(n) && !n.spec?.unschedulable).length;
      minAvailable = Math.min(minAvailable, available);
      for (const n of await client
        .list<(typeof list)[number]>(CoreResources.nodes, {
          labelSelector: `testkit.keiko.dev/simulated-cluster=${account.clusterName}`,
        })
        .then((l) => l.items))
        if (n.spec?.unschedulable) cordoned.add(n.metadata.name!);
      minRunningPods = Math.min(minRunningPods, (await running()).length);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  // Instance type, a label and the taint change together: one new launch template version whose
  // user data carries the new label and taint to every replacement Node.
  await client.patch(InstanceGroups, 'workers', namespace, {
    spec: {
      eks: {
        configuration: {
          instanceType: 'm5.xlarge',
          labels: { team: 'analytics', 'keiko.dev/pool': 'workers' },
          taints: [{ key: 'dedicated', value: 'workers-v2', effect: 'NoSchedule' }],
        },
      },
    },
  });
  const rolled = await waitForGroup(
    env,
    'workers',
    (g, list) =>
      g.status?.currentState === 'Ready' &&
      g.status.observedGeneration === g.metadata.generation &&
      list.length === 2 &&
      list.every(
        (n) => isReady(n) && n.metadata.labels?.['node.kubernetes.io/instance-type'] === 'm5.xlarge',
      ),
    'every node to run m5.xlarge',
    150_000,
  );
  sampling = false;
  await sampler;
  expect(rolled.status?.latestTemplateVersion).toBe('2');
  // Every replacement booted from version 2's user data: the new label and taint, the group's
  // other labels, and nothing left of the old ones.
  for (const n of await groupNodes(env, 'workers')) {
    expect(nodes.map((o) => o.metadata.name)).not.toContain(n.metadata.name);
    expect(n.metadata.labels).toMatchObject({
      team: 'analytics',
      'keiko.dev/pool': 'workers',
      'node.kubernetes.io/role': 'workers',
      'instancemgr.keikoproj.io/lifecycle': 'normal',
      'node.kubernetes.io/instance-type': 'm5.xlarge',
    });
    const dedicated = n.spec?.taints?.filter((t) => t.key === 'dedicated');
    expect(dedicated).toEqual([expect.objectContaining({ value: 'workers-v2', effect: 'NoSchedule' })]);
  }
  // maxUnavailable 1 of 2: at least one node available at every sample.
  expect(minAvailable).toBeGreaterThanOrEqual(1);
  // Drained, not killed: the PDB (minAvailable 1) held at every sample, both old nodes were
  // cordoned first, and the pods now are new ones.
  expect(minRunningPods).toBeGreaterThanOrEqual(1);
  for (const n of nodes) expect(cordoned).toContain(n.metadata.name);
  await waitFor(async () => (await running()).length === 2, {
    description: '2 web pods running again',
    timeoutMs: 60_000,
  });
  expect((await running()).filter((p) => podsBefore.has(p.metadata.name))).toHaveLength(0);
  const lt = await new Ec2(env.aws).launchTemplate(names.launchTemplate, { ttlMs: 0 });
  expect(lt?.LatestVersionNumber).toBe(2);
  expect(lt?.DefaultVersionNumber).toBe(2);

  // Delete: everything it created goes; the neighbour group's and the foreign aws-auth entries stay.
  await client.delete(InstanceGroups, 'workers', namespace);
  await waitFor(async () => !(await client.getOrUndefined(InstanceGroups, 'workers', namespace)), {
    description: 'the InstanceGroup to be gone',
    timeoutMs: 60_000,
  });
  expect(await asgs.get(names.autoScalingGroup, { ttlMs: 0 })).toBeUndefined();
  expect(await new Ec2(env.aws).launchTemplate(names.launchTemplate, { ttlMs: 0 })).toBeUndefined();
  const after = await client.get<ConfigMap>(CoreResources.configMaps, 'aws-auth', 'kube-system');
  const rolesAfter = (parse(after.data!.mapRoles!) as { rolearn: string }[]).map((r) => r.rolearn);
  expect(rolesAfter).not.toContain(ready.status!.nodesInstanceRoleArn);
  expect(rolesAfter).toContain(neighbourReady.status!.nodesInstanceRoleArn);
  expect(rolesAfter).toContain(FOREIGN_ROLE);
  const { GetInstanceProfileCommand, GetRoleCommand } = await import('@aws-sdk/client-iam');
  await expect(env.aws.iam.send(new GetRoleCommand({ RoleName: names.role }))).rejects.toThrow();
  await expect(
    env.aws.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: names.instanceProfile })),
  ).rejects.toThrow();
  // The neighbour is untouched: its ASG, role, Node and state.
  expect(await asgs.get(neighbourNames.autoScalingGroup, { ttlMs: 0 })).toBeDefined();
  await env.aws.iam.send(new GetRoleCommand({ RoleName: neighbourNames.role }));
  const neighbourAfter = await waitForState(neighbourEnv, 'neighbour', 'Ready', 30_000);
  expect(neighbourAfter.status?.latestTemplateVersion).toBe('1');
  const neighbourNodes = await groupNodes(neighbourEnv, 'neighbour');
  expect(neighbourNodes.map((n) => [isReady(n), n.metadata.labels?.['keiko.dev/pool']])).toEqual([
    [true, 'neighbour'],
  ]);
  // Then the neighbour goes too, taking its own entry and leaving the foreign one.
  await client.delete(InstanceGroups, 'neighbour', neighbourEnv.namespace);
  await waitFor(
    async () => !(await client.getOrUndefined(InstanceGroups, 'neighbour', neighbourEnv.namespace)),
    { description: 'the neighbour InstanceGroup to be gone', timeoutMs: 60_000 },
  );
  const last = await client.get<ConfigMap>(CoreResources.configMaps, 'aws-auth', 'kube-system');
  const rolesLast = (parse(last.data!.mapRoles!) as { rolearn: string }[]).map((r) => r.rolearn);
  expect(rolesLast).not.toContain(neighbourReady.status!.nodesInstanceRoleArn);
  expect(rolesLast).toContain(FOREIGN_ROLE);
  await waitFor(
    async () =>
      (
        await client.list(CoreResources.nodes, {
          labelSelector: `testkit.keiko.dev/simulated-cluster=${account.clusterName}`,
        })
      ).items.length === 0,
    { description: 'the Nodes to be gone', timeoutMs: 30_000 },
  );
}, 240_000);
