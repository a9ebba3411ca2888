/**
 * Restarts lose nothing: the controller is stopped in the middle of a rolling update and a new one
 * finishes it, with no second launch template version, no instance replaced twice, and never more
 * than maxUnavailable nodes unavailable (sampled across the restart).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { AutoScalingGroups, Ec2, instanceLaunchTemplate } from '@keiko/aws-kit';
import type { Manager } from '@keiko/operator-kit';
import { waitFor } from '@keiko/testkit';
import { InstanceGroups } from '../src/api/instancegroup.js';
import { groupNames } from '../src/planner/naming.js';
import {
  type Env,
  getGroup,
  groupNodes,
  instanceGroup,
  isReady,
  setupEnv,
  startController,
  waitForGroup,
  waitForState,
} from './support.js';

let env: Env;
let manager: Manager | undefined;

beforeAll(async () => {
  env = await setupEnv('im-restart');
});
afterAll(async () => {
  await manager?.stop();
  await env?.close();
});

test('a new controller finishes a roll the old one started', async () => {
  const { client, namespace, account } = env;
  const names = groupNames({ clusterName: account.clusterName, namespace, name: 'restart' });
  const ig = instanceGroup(env, 'restart');
  ig.spec.eks!.minSize = 3;
  ({ manager } = await startController(env));
  await client.create(InstanceGroups, ig);
  await waitForState(env, 'restart', 'Ready');

  const asgs = new AutoScalingGroups(env.aws);
  const ec2 = new Ec2(env.aws);
  const seen = new Set<string>();
  let minAvailable = Number.POSITIVE_INFINITY;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const group = await asgs.get(names.autoScalingGroup, { ttlMs: 0 });
      for (const i of group?.Instances ?? []) seen.add(i.InstanceId!);
      const nodes = await groupNodes(env, 'restart');
      minAvailable = Math.min(minAvailable, nodes.filter((n) => isReady(n) && !n.spec?.unschedulable).length);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  await client.patch(InstanceGroups, 'restart', namespace, {
    spec: { eks: { configuration: { instanceType: 'm5.xlarge' } } },
  });
  // Stop the controller as soon as one instance is replaced and others are still outdated.
  await waitFor(
    async () => {
      const group = await asgs.get(names.autoScalingGroup, { ttlMs: 0 });
      const instances = await ec2.instances(
        group!.Instances!.map((i) => i.InstanceId!),
        { ttlMs: 0 },
      );
      const versions = instances.map((i) => instanceLaunchTemplate(i)?.version);
      return versions.includes('2') && versions.includes('1');
    },
    { description: 'a roll half done', timeoutMs: 60_000, intervalMs: 25 },
  );
  await manager.stop();
  manager = undefined;
  const midway = await getGroup(env, 'restart');
  expect(midway.status?.currentState).toBe('InitUpgrade');

  ({ manager } = await startController(env));
  await waitForGroup(
    env,
    'restart',
    (g, nodes) =>
      g.status?.currentState === 'Ready' &&
      nodes.length === 3 &&
      nodes.every(
        (n) => isReady(n) && n.metadata.labels?.['node.kubernetes.io/instance-type'] === 'm5.xlarge',
      ),
    'the roll finished by the second controller',
    150_000,
  );
  sampling = false;
  await sampler;
  const lt = await ec2.launchTemplate(names.launchTemplate, { ttlMs: 0 });
  expect(lt?.LatestVersionNumber).toBe(2);
  // 3 originals + 3 replacements: nothing replaced twice.
  expect(seen.size).toBe(6);
  // maxUnavailable 1 of 3.
  expect(minAvailable).toBeGreaterThanOrEqual(2);
  // The replacements booted from version 2's user data: the group's labels and taint.
  for (const n of await groupNodes(env, 'restart')) {
    expect(n.metadata.labels).toMatchObject({ team: 'data', 'node.kubernetes.io/role': 'restart' });
    expect(n.spec?.taints).toContainEqual(
      expect.objectContaining({ key: 'dedicated', value: 'restart', effect: 'NoSchedule' }),
    );
  }
}, 240_000);
