/**
 * The `crd` strategy through a real RollingUpgrade object (upgrade-manager's CRD from its chart): the
 * instance type changes, the controller renders and creates the RollingUpgrade through the API and
 * waits on `.status.currentStatus`; the test plays upgrade-manager (terminates the outdated
 * instances in the ASG, then reports `completed`), and the group becomes Ready on the new type.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { AutoScalingGroups, Ec2, instanceLaunchTemplate } from '@keiko/aws-kit';
import type { KubeObject, Manager } from '@keiko/operator-kit';
import { installCrds, testKubeConfig, waitFor } from '@keiko/testkit';
import { InstanceGroups } from '../src/api/instancegroup.js';
import { groupNames } from '../src/planner/naming.js';
import {
  condition,
  type Env,
  getGroup,
  groupNodes,
  instanceGroup,
  isReady,
  setupEnv,
  startController,
  waitForState,
} from './support.js';

const ROLLING_UPGRADE_CRD = fileURLToPath(
  new URL(
    '../../../deploy/charts/upgrade-manager/crds/upgrademgr.keikoproj.io_rollingupgrades.yaml',
    import.meta.url,
  ),
);
const RollingUpgrades = {
  group: 'upgrademgr.keikoproj.io',
  version: 'v1alpha1',
  plural: 'rollingupgrades',
  kind: 'RollingUpgrade',
  namespaced: true,
};

let env: Env;
let manager: Manager;

beforeAll(async () => {
  env = await setupEnv('im-crd');
  await installCrds(testKubeConfig(), ROLLING_UPGRADE_CRD);
  ({ manager } = await startController(env));
});
afterAll(async () => {
  await manager?.stop();
  await env?.close();
});

test('the RollingUpgrade CRD comes from upgrade-manager chart', () => {
  expect(existsSync(ROLLING_UPGRADE_CRD)).toBe(true);
});

test('instance type change rolls through a RollingUpgrade', async () => {
  const { client, namespace, account } = env;
  const ig = instanceGroup(env, 'crd-workers');
  ig.spec.strategy = {
    type: 'crd',
    crd: {
      crdName: 'rollingupgrades',
      statusJSONPath: '.status.currentStatus',
      statusSuccessString: 'completed',
      statusFailureString: 'error',
      concurrencyPolicy: 'Forbid',
      spec: [
        'apiVersion: upgrademgr.keikoproj.io/v1alpha1',
        'kind: RollingUpgrade',
        'metadata:',
        '  name: rollup-nodes',
        `  namespace: ${namespace}`,
        'spec:',
        '  asgName: {{ .InstanceGroup.Status.ActiveScalingGroupName }}',
        '  nodeIntervalSeconds: 30',
        '  strategy:',
        '    mode: eager',
        '    maxUnavailable: 1',
        '',
      ].join('\n'),
    },
  };
  await client.create(InstanceGroups, ig);
  const ready = await waitForState(env, 'crd-workers', 'Ready');
  expect(ready.status?.strategy).toBe('crd');
  const names = groupNames({ clusterName: account.clusterName, namespace, name: 'crd-workers' });

  await client.patch(InstanceGroups, 'crd-workers', namespace, {
    spec: { eks: { configuration: { instanceType: 'm5.xlarge' } } },
  });
  const lt = await waitFor(
    async () => {
      const t = await new Ec2(env.aws).launchTemplate(names.launchTemplate, { ttlMs: 0 });
      return t?.LatestVersionNumber === 2 && t;
    },
    { description: 'launch template version 2' },
  );
  const ruName = `rollup-nodes-${lt.LaunchTemplateId}-2`;
  const ru = await waitFor(
    () =>
      client.getOrUndefined<KubeObject & { spec: { asgName: string } }>(RollingUpgrades, ruName, namespace),
    {
      description: `RollingUpgrade ${ruName}`,
      timeoutMs: 30_000,
    },
  );
  expect(ru.spec.asgName).toBe(names.autoScalingGroup);
  expect(ru.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'instance-manager' });
  const progressing = await getGroup(env, 'crd-workers');
  expect(progressing.status).toMatchObject({
    currentState: 'InitUpgrade',
    strategyResourceName: ruName,
    strategyResourceNamespace: namespace,
  });
  expect(condition(progressing, 'Progressing')).toMatchObject({
    status: 'True',
    reason: 'UpgradeInProgress',
  });

  // Play upgrade-manager: replace every outdated instance, then report success.
  const asgs = new AutoScalingGroups(env.aws);
  const group = await asgs.get(names.autoScalingGroup, { ttlMs: 0 });
  const instances = await new Ec2(env.aws).instances(
    group!.Instances!.map((i) => i.InstanceId!),
    { ttlMs: 0 },
  );
  const outdated = instances.filter((i) => instanceLaunchTemplate(i)?.version !== '2');
  expect(outdated).toHaveLength(2);
  for (const i of outdated) await asgs.terminateInstance(i.InstanceId!, false);
  // Nothing else happens while the RollingUpgrade runs.
  expect((await getGroup(env, 'crd-workers')).status?.currentState).not.toBe('Ready');
  await client.patch(
    RollingUpgrades,
    ruName,
    namespace,
    { status: { currentStatus: 'completed' } },
    'merge',
    'status',
  );

  await waitFor(
    async () => {
      const g = await getGroup(env, 'crd-workers');
      const nodes = await groupNodes(env, 'crd-workers');
      return (
        g.status?.currentState === 'Ready' &&
        nodes.length === 2 &&
        nodes.every(
          (n) => isReady(n) && n.metadata.labels?.['node.kubernetes.io/instance-type'] === 'm5.xlarge',
        )
      );
    },
    { description: 'Ready on m5.xlarge', timeoutMs: 60_000, intervalMs: 250 },
  );
  // Exactly one RollingUpgrade was created.
  const all = await client.list(RollingUpgrades, { namespace });
  expect(all.items.map((o) => o.metadata.name)).toEqual([ruName]);
});
