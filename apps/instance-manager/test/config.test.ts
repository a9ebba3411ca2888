/**
 * What only the controller can check becomes Ready=False with a reason, and the defaults ConfigMap
 * reaches every group (a change to it is applied without touching the groups), except in a
 * namespace that opted out.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { AutoScalingGroups } from '@keiko/aws-kit';
import { CoreResources, type KubeObject, type Manager } from '@keiko/operator-kit';
import { waitFor } from '@keiko/testkit';
import { InstanceGroups } from '../src/api/instancegroup.js';
import { groupNames } from '../src/planner/naming.js';
import {
  condition,
  type Env,
  getGroup,
  instanceGroup,
  setupEnv,
  startController,
  waitForState,
} from './support.js';

let env: Env;
let manager: Manager;

beforeAll(async () => {
  env = await setupEnv('im-cfg');
  ({ manager } = await startController(env));
});
afterAll(async () => {
  await manager?.stop();
  await env?.close();
});

test('a subnet that does not exist: Ready=False, reason SubnetNotFound', async () => {
  await env.client.create(InstanceGroups, instanceGroup(env, 'lost', { subnets: ['no-such-subnet'] }));
  const g = await waitForState(env, 'lost', 'Error');
  expect(condition(g, 'Ready')).toMatchObject({
    status: 'False',
    reason: 'SubnetNotFound',
    message: expect.stringContaining('no-such-subnet'),
  });
  // Fix it: the group recovers.
  await env.client.patch(InstanceGroups, 'lost', env.namespace, {
    spec: { eks: { configuration: { subnets: [env.account.subnets[0]!.subnetId] } } },
  });
  await waitForState(env, 'lost', 'Ready');
});

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

test('the defaults ConfigMap reaches every group; a change to it too', async () => {
  const { client, configNamespace, namespace, account } = env;
  const defaults = (costCenter: string): ConfigMap => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'instance-manager', namespace: configNamespace },
    data: {
      boundaries: 'shared:\n  mergeOverride:\n    - spec.eks.configuration.tags\n',
      defaults: `spec:\n  eks:\n    configuration:\n      tags:\n        - {key: cost-center, value: "${costCenter}"}\n`,
    },
  });
  await client.create(CoreResources.configMaps, defaults('100'));
  await client.create(
    InstanceGroups,
    instanceGroup(env, 'tagged', { tags: [{ key: 'team', value: 'data' }] }),
  );
  const ready = await waitForState(env, 'tagged', 'Ready');
  expect(ready.status?.configMD5).toMatch(/^[0-9a-f]{32}$/);
  const asgName = groupNames({
    clusterName: account.clusterName,
    namespace,
    name: 'tagged',
  }).autoScalingGroup;
  const asgs = new AutoScalingGroups(env.aws);
  const tagsOf = async () =>
    Object.fromEntries(((await asgs.get(asgName, { ttlMs: 0 }))?.Tags ?? []).map((t) => [t.Key, t.Value]));
  expect(await tagsOf()).toMatchObject({ 'cost-center': '100', team: 'data' });

  await client.update(CoreResources.configMaps, {
    ...(await client.get<ConfigMap>(CoreResources.configMaps, 'instance-manager', configNamespace)),
    data: defaults('200').data,
  });
  await waitFor(async () => (await tagsOf())['cost-center'] === '200', {
    description: 'the new default tag on the ASG',
    timeoutMs: 60_000,
  });
  const after = await getGroup(env, 'tagged');
  expect(after.metadata.generation).toBe(ready.metadata.generation);
  await waitFor(async () => (await getGroup(env, 'tagged')).status?.configMD5 !== ready.status?.configMD5, {
    description: 'configMD5 updated',
    timeoutMs: 60_000,
  });
  expect((await tagsOf()).team).toBe('data');
});

test('the lock annotation holds a needed rotation (Locked) until it is removed', async () => {
  const { client, namespace, account } = env;
  const asgName = groupNames({
    clusterName: account.clusterName,
    namespace,
    name: 'tagged',
  }).autoScalingGroup;
  const asgs = new AutoScalingGroups(env.aws);
  const instanceIds = async () =>
    ((await asgs.get(asgName, { ttlMs: 0 }))?.Instances ?? []).map((i) => i.InstanceId).sort();
  await waitForState(env, 'tagged', 'Ready');
  const before = await instanceIds();
  await client.patch(InstanceGroups, 'tagged', namespace, {
    metadata: { annotations: { 'instancemgr.keikoproj.io/lock-upgrades': 'true' } },
    spec: { eks: { configuration: { instanceType: 'm5.xlarge' } } },
  });
  const locked = await waitForState(env, 'tagged', 'Locked');
  expect(condition(locked, 'Ready')).toMatchObject({ status: 'False', reason: 'UpgradeLocked' });
  expect(locked.status?.latestTemplateVersion).toBe('2');
  expect(await instanceIds()).toEqual(before);

  await client.patch(InstanceGroups, 'tagged', namespace, {
    metadata: { annotations: { 'instancemgr.keikoproj.io/lock-upgrades': null } },
  });
  await waitFor(
    async () => {
      const g = await getGroup(env, 'tagged');
      const ids = await instanceIds();
      return (
        g.status?.currentState === 'Ready' && ids.length === 2 && ids.every((id) => !before.includes(id))
      );
    },
    { description: 'the rotation to run once unlocked', timeoutMs: 90_000, intervalMs: 250 },
  );
});
