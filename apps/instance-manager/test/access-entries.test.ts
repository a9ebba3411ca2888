/**
 * EKS access entries instead of aws-auth (`nodeIdentity: access-entry`, set cluster-wide by the
 * defaults ConfigMap over a controller default of aws-auth), on the real control plane + node
 * simulator and moto, except for the access-entry calls themselves: moto 5.2.5 has no access-entry
 * API, so Create/Describe/Delete/ListAccessEntries are answered by an in-process stand-in
 * (test/support.ts, accessEntriesShim) with AWS's shapes and errors. Everything else is moto's.
 *
 * Four groups: alpha and beta share an existing role, gamma gets a controller-created role, delta
 * uses a role that already has someone else's access entry. All become Ready with Ready Nodes;
 * each role has exactly one entry; then (after a controller restart) deleting gamma removes only its
 * entry, deleting the shared entry's creator keeps it for the other, deleting the last sharer removes
 * it, deleting delta leaves the foreign entry. Sampled throughout: the aws-auth ConfigMap is never
 * written, the foreign entry never changes, every other entry carries a group's ownership tags.
 */

import {
  CreateAccessEntryCommand,
  DescribeAccessEntryCommand,
  ListAccessEntriesCommand,
} from '@aws-sdk/client-eks';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CoreResources, type KubeObject, type Manager } from '@keiko/operator-kit';
import { waitFor } from '@keiko/testkit';
import { CONFIG_MAP_NAME } from '../src/api/cluster-defaults.js';
import { InstanceGroups } from '../src/api/instancegroup.js';
import { ownershipTags, TAG_CLUSTER, TAG_GROUP, TAG_NAMESPACE } from '../src/planner/naming.js';
import {
  accessEntryCalls,
  type Env,
  groupNodes,
  instanceGroup,
  isReady,
  setupEnv,
  startController,
  waitForGroup,
} from './support.js';

let env: Env;
let manager: Manager | undefined;

beforeAll(async () => {
  env = await setupEnv('im-ae');
});
afterAll(async () => {
  await manager?.stop();
  await env?.close();
});

const FOREIGN_TAGS = { owner: 'platform-team' };

async function createRoleWithProfile(name: string): Promise<string> {
  const trust = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  };
  const role = await env.aws.iam.send(
    new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }),
  );
  await env.aws.iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name }));
  await env.aws.iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }));
  return role.Role!.Arn!;
}

test('node roles get access entries; shared and foreign entries survive; aws-auth untouched', async () => {
  const { client, namespace, account } = env;
  const clusterName = account.clusterName;
  const entries = async () =>
    (await env.aws.eks.send(new ListAccessEntriesCommand({ clusterName }))).accessEntries ?? [];
  const entry = async (principalArn: string) =>
    (await env.aws.eks.send(new DescribeAccessEntryCommand({ clusterName, principalArn }))).accessEntry!;

  const sharedArn = await createRoleWithProfile('im-ae-shared');
  const foreignArn = await createRoleWithProfile('im-ae-foreign');
  await env.aws.eks.send(
    new CreateAccessEntryCommand({
      clusterName,
      principalArn: foreignArn,
      type: 'EC2_LINUX',
      tags: FOREIGN_TAGS,
    }),
  );
  // Cluster-wide choice through the defaults ConfigMap; the controller's own default is aws-auth.
  await client.create(CoreResources.configMaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: CONFIG_MAP_NAME, namespace: env.configNamespace },
    data: { defaults: 'spec:\n  eks:\n    configuration:\n      nodeIdentity: access-entry\n' },
  } as KubeObject);
  ({ manager } = await startController(env, { nodeIdentity: 'aws-auth' }));

  interface ConfigMap extends KubeObject {
    data?: Record<string, string>;
  }
  const awsAuth = () => client.getOrUndefined<ConfigMap>(CoreResources.configMaps, 'aws-auth', 'kube-system');
  const awsAuthVersion = (await awsAuth())?.metadata.resourceVersion ?? 'absent';

  // Invariants, sampled until the end.
  const violations: string[] = [];
  let sampling = true;
  let samples = 0;
  const sampler = (async () => {
    while (sampling) {
      const cm = await awsAuth();
      if ((cm?.metadata.resourceVersion ?? 'absent') !== awsAuthVersion)
        violations.push(`aws-auth written: ${JSON.stringify(cm?.data)}`);
      const list = await entries();
      if (!list.includes(foreignArn)) violations.push('foreign entry deleted');
      for (const arn of list) {
        const e = await entry(arn).catch(() => undefined);
        if (!e) continue; // deleted between list and describe
        if (arn === foreignArn) {
          if (JSON.stringify(e.tags) !== JSON.stringify(FOREIGN_TAGS))
            violations.push(`foreign entry retagged: ${JSON.stringify(e.tags)}`);
        } else if (e.tags?.[TAG_CLUSTER] !== clusterName || e.tags?.[TAG_NAMESPACE] !== namespace)
          violations.push(`entry ${arn} without ownership tags: ${JSON.stringify(e.tags)}`);
      }
      samples++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const groups = {
    alpha: { roleName: 'im-ae-shared' },
    beta: { roleName: 'im-ae-shared' },
    gamma: {},
    delta: { roleName: 'im-ae-foreign' },
  };
  for (const [name, overrides] of Object.entries(groups)) {
    const ig = instanceGroup(env, name, overrides);
    ig.spec.eks!.minSize = 1;
    await client.create(InstanceGroups, ig);
  }
  const ready: Record<string, string> = {};
  for (const name of Object.keys(groups)) {
    const g = await waitForGroup(
      env,
      name,
      (g, nodes) =>
        g.status?.currentState === 'Ready' &&
        g.status.observedGeneration === g.metadata.generation &&
        nodes.length === 1 &&
        nodes.every(isReady),
      `${name} Ready with a Ready Node`,
    );
    expect(g.status?.nodeIdentity).toBe('access-entry');
    ready[name] = g.status!.nodesInstanceRoleArn!;
  }
  expect(ready.alpha).toBe(sharedArn);
  expect(ready.beta).toBe(sharedArn);
  expect(ready.delta).toBe(foreignArn);
  const gammaArn = ready.gamma!;
  expect(gammaArn).toMatch(/:role\//);
  expect([sharedArn, foreignArn]).not.toContain(gammaArn);

  // One entry per role: EC2_LINUX, tagged as the group that created it (the shared one: alpha or beta).
  expect(await entries()).toEqual([foreignArn, gammaArn, sharedArn].sort());
  const gammaEntry = await entry(gammaArn);
  expect(gammaEntry).toMatchObject({
    type: 'EC2_LINUX',
    tags: ownershipTags({ clusterName, namespace, name: 'gamma' }),
  });
  const sharedEntry = await entry(sharedArn);
  expect(sharedEntry.type).toBe('EC2_LINUX');
  const creator = sharedEntry.tags![TAG_GROUP]!;
  expect(['alpha', 'beta']).toContain(creator);
  expect(sharedEntry.tags).toEqual(ownershipTags({ clusterName, namespace, name: creator }));
  const other = creator === 'alpha' ? 'beta' : 'alpha';
  expect(await entry(foreignArn)).toMatchObject({ tags: FOREIGN_TAGS });
  // aws-auth: no mapping for any of these roles.
  const cm = await awsAuth();
  for (const arn of [sharedArn, foreignArn, gammaArn]) expect(cm?.data?.mapRoles ?? '').not.toContain(arn);

  // Restart: what to release is in status and tags, nothing in memory.
  await manager!.stop();
  ({ manager } = await startController(env, { nodeIdentity: 'aws-auth' }));

  const deleteGroup = async (name: string) => {
    await client.delete(InstanceGroups, name, namespace);
    await waitFor(async () => !(await client.getOrUndefined(InstanceGroups, name, namespace)), {
      description: `${name} deleted`,
      timeoutMs: 60_000,
      intervalMs: 250,
    });
  };
  await deleteGroup('gamma');
  expect(await entries()).toEqual([foreignArn, sharedArn].sort());
  await deleteGroup(creator);
  expect(await entries()).toEqual([foreignArn, sharedArn].sort());
  // The remaining sharer is unaffected: still Ready with its Node.
  expect((await groupNodes(env, other)).filter(isReady)).toHaveLength(1);
  await deleteGroup(other);
  expect(await entries()).toEqual([foreignArn]);
  await deleteGroup('delta');
  expect(await entries()).toEqual([foreignArn]);
  expect(await entry(foreignArn)).toMatchObject({ type: 'EC2_LINUX', tags: FOREIGN_TAGS });

  sampling = false;
  await sampler;
  expect(samples).toBeGreaterThan(10);
  expect(violations).toEqual([]);
  const deletes = accessEntryCalls.filter((c) => c.command === 'DeleteAccessEntryCommand');
  expect(deletes.map((c) => c.principalArn).sort()).toEqual([gammaArn, sharedArn].sort());
  // Created once per role (a second create would have hit ResourceInUseException and been adopted).
  const creates = accessEntryCalls.filter((c) => c.command === 'CreateAccessEntryCommand');
  expect(creates.map((c) => c.principalArn).sort()).toEqual([foreignArn, gammaArn, sharedArn].sort());
}, 240_000);

test('per-group override and a switch: aws-auth -> access-entry, then delete', async () => {
  const { client, namespace, account } = env;
  const clusterName = account.clusterName;
  interface ConfigMap extends KubeObject {
    data?: Record<string, string>;
  }
  const awsAuth = () => client.getOrUndefined<ConfigMap>(CoreResources.configMaps, 'aws-auth', 'kube-system');
  const owners = async () =>
    JSON.parse(
      (await awsAuth())?.metadata.annotations?.['instancemgr.keikoproj.io/owned-role-arns'] ?? '{}',
    ) as Record<string, string[]>;
  const entries = async () =>
    (await env.aws.eks.send(new ListAccessEntriesCommand({ clusterName }))).accessEntries ?? [];

  // The group's own field wins over the ConfigMap's access-entry default.
  const ig = instanceGroup(env, 'epsilon', { nodeIdentity: 'aws-auth' });
  ig.spec.eks!.minSize = 1;
  await client.create(InstanceGroups, ig);
  const first = await waitForGroup(
    env,
    'epsilon',
    (g, nodes) =>
      g.status?.currentState === 'Ready' &&
      g.status.observedGeneration === g.metadata.generation &&
      nodes.length === 1 &&
      nodes.every(isReady),
    'epsilon Ready on aws-auth',
  );
  expect(first.status?.nodeIdentity).toBe('aws-auth');
  const roleArn = first.status!.nodesInstanceRoleArn!;
  expect((await awsAuth())?.data?.mapRoles).toContain(roleArn);
  expect((await owners())[roleArn]).toEqual([`${namespace}/epsilon`]);
  expect(await entries()).not.toContain(roleArn);

  await client.patch(InstanceGroups, 'epsilon', namespace, {
    spec: { eks: { configuration: { nodeIdentity: 'access-entry' } } },
  });
  const switched = await waitForGroup(
    env,
    'epsilon',
    (g) =>
      g.status?.nodeIdentity === 'access-entry' &&
      g.status.currentState === 'Ready' &&
      g.status.observedGeneration === g.metadata.generation,
    'epsilon Ready on access-entry',
  );
  // Not a launch template change: no roll.
  expect(switched.status?.latestTemplateVersion).toBe('1');
  expect((await groupNodes(env, 'epsilon')).filter(isReady)).toHaveLength(1);
  expect(await entries()).toContain(roleArn);
  expect(
    (await env.aws.eks.send(new DescribeAccessEntryCommand({ clusterName, principalArn: roleArn })))
      .accessEntry,
  ).toMatchObject({ type: 'EC2_LINUX', tags: ownershipTags({ clusterName, namespace, name: 'epsilon' }) });
  expect((await awsAuth())?.data?.mapRoles ?? '').not.toContain(roleArn);
  expect(await owners()).not.toHaveProperty([roleArn]);

  await client.delete(InstanceGroups, 'epsilon', namespace);
  await waitFor(async () => !(await client.getOrUndefined(InstanceGroups, 'epsilon', namespace)), {
    description: 'epsilon deleted',
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  expect(await entries()).not.toContain(roleArn);
}, 180_000);
