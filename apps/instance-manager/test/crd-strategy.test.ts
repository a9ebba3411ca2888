/**
 * The `crd` strategy through a real RollingUpgrade executed by the real upgrade-manager: its built
 * controller (apps/upgrade-manager/dist/main.js) runs as a child process under its chart's RBAC,
 * against the same control plane, moto account and node simulator as instance-manager (in-process,
 * authenticated as its own chart's ServiceAccount, so the chart's strategy RBAC is exercised too).
 *
 * The instance type, a label and the taint change -> instance-manager writes launch template
 * version 2, points the ASG at it and creates the RollingUpgrade rendered from the group's template
 * -> upgrade-manager rolls the ASG (eager: standby, replacement Ready, cordon, drain through the
 * Eviction API, terminate) -> instance-manager reads `.status.currentStatus` = `completed` and the
 * group becomes Ready with every Node on the new type, label and taint. Sampled every ~100 ms all
 * along: the group seen InitUpgrade / Progressing=True UpgradeInProgress naming the RollingUpgrade,
 * available Nodes (Ready, schedulable) never below desired - maxUnavailable, a Deployment's PDB
 * never violated, the group never Ready while the RollingUpgrade ran, every old Node cordoned
 * before it went.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { AutoScalingGroups, Ec2 } from '@keiko/aws-kit';
import { CoreResources, type KubeObject, type Manager } from '@keiko/operator-kit';
import {
  chartIdentity,
  createTestNamespace,
  installCrds,
  loadKubeConfig,
  testKubeConfig,
  uniqueName,
  waitFor,
} from '@keiko/testkit';
import { InstanceGroups } from '../src/api/instancegroup.js';
import { groupNames } from '../src/planner/naming.js';
import {
  CHART_DIR,
  condition,
  type Env,
  getGroup,
  groupNodes,
  instanceGroup,
  isReady,
  type NodeObject,
  setupEnv,
  startController,
  waitForGroup,
  waitForState,
} from './support.js';

/** upgrade-manager's build output and chart (a devDependency, so turbo builds it before these tests). */
const UPGRADE_MANAGER_MAIN = fileURLToPath(
  new URL('../node_modules/@keiko/upgrade-manager/dist/main.js', import.meta.url),
);
const UPGRADE_MANAGER_CHART = fileURLToPath(
  new URL('../../../deploy/charts/upgrade-manager', import.meta.url),
);
const ROLLING_UPGRADE_CRD = `${UPGRADE_MANAGER_CHART}/crds/upgrademgr.keikoproj.io_rollingupgrades.yaml`;
const RollingUpgrades = {
  group: 'upgrademgr.keikoproj.io',
  version: 'v1alpha1',
  plural: 'rollingupgrades',
  kind: 'RollingUpgrade',
  namespaced: true,
};
interface RollingUpgrade extends KubeObject {
  spec: { asgName: string; strategy?: { mode?: string; maxUnavailable?: number | string } };
  status?: { currentStatus?: string; totalNodes?: number; nodesProcessed?: number };
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

const GROUP = 'crd-workers';
const SIZE = 3;
const MAX_UNAVAILABLE = 1;

let env: Env;
let manager: Manager;
let upgradeManager: ChildProcess | undefined;
const logPath = `/tmp/${uniqueName('im-crd-upgrade-manager')}.log`;

beforeAll(async () => {
  env = await setupEnv('im-crd');
  const kc = testKubeConfig();
  await installCrds(kc, ROLLING_UPGRADE_CRD);
  // instance-manager under its own chart's RBAC (strategyRBAC: RollingUpgrades get/list/create/
  // delete), its release namespace being the one holding the defaults ConfigMap.
  const imIdentity = await chartIdentity(kc, CHART_DIR, {
    releaseName: uniqueName('im'),
    namespace: env.configNamespace,
  });
  ({ manager } = await startController(env, {}, loadKubeConfig(imIdentity.kubeconfigPath)));

  // upgrade-manager as its chart deploys it: its own namespace and ServiceAccount, watching the
  // tenant namespace where the group's RollingUpgrades are created.
  const releaseNamespace = await createTestNamespace(kc, 'im-crd-um');
  const identity = await chartIdentity(kc, UPGRADE_MANAGER_CHART, {
    releaseName: uniqueName('um'),
    namespace: releaseNamespace,
    values: { namespace: env.namespace },
  });
  const log = createWriteStream(logPath, { flags: 'a' });
  upgradeManager = spawn(
    process.execPath,
    [
      UPGRADE_MANAGER_MAIN,
      `--namespace=${env.namespace}`,
      '--ops-port=0',
      '--leader-elect=true',
      '--requeue-seconds=1',
      '--drain-timeout=60',
    ],
    {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        KUBECONFIG: identity.kubeconfigPath,
        POD_NAMESPACE: releaseNamespace,
        ...env.account.env(),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  upgradeManager.stdout!.pipe(log);
  upgradeManager.stderr!.pipe(log);
}, 120_000);
afterAll(async () => {
  if (upgradeManager && upgradeManager.exitCode === null) {
    const exited = new Promise((r) => upgradeManager!.once('exit', r));
    upgradeManager.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
    clearTimeout(timer);
    if (upgradeManager.exitCode === null) upgradeManager.kill('SIGKILL');
  }
  await manager?.stop();
  await env?.close();
});

test('upgrade-manager is built and its chart ships the RollingUpgrade CRD', () => {
  expect(existsSync(UPGRADE_MANAGER_MAIN)).toBe(true);
  expect(existsSync(ROLLING_UPGRADE_CRD)).toBe(true);
});

test('instance type, label and taint change rolled by upgrade-manager through a RollingUpgrade', async () => {
  const { client, namespace, account } = env;
  const ig = instanceGroup(env, GROUP);
  ig.spec.eks!.minSize = SIZE;
  ig.spec.eks!.maxSize = SIZE + 2;
  // The upstream docs' RollingUpgrade template, with short intervals.
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
        '  postDrainDelaySeconds: 0',
        '  nodeIntervalSeconds: 0',
        '  strategy:',
        '    type: randomUpdate',
        '    mode: eager',
        `    maxUnavailable: ${MAX_UNAVAILABLE}`,
        '    drainTimeout: 60',
        '',
      ].join('\n'),
    },
  };
  await client.create(InstanceGroups, ig);
  const ready = await waitForState(env, GROUP, 'Ready', 60_000);
  expect(ready.status?.strategy).toBe('crd');
  const names = groupNames({ clusterName: account.clusterName, namespace, name: GROUP });
  const asgs = new AutoScalingGroups(env.aws);
  const originals = (await asgs.get(names.autoScalingGroup, { ttlMs: 0 }))!.Instances!.map(
    (i) => i.InstanceId!,
  );
  expect(originals).toHaveLength(SIZE);
  const oldNodes = await groupNodes(env, GROUP);
  expect(oldNodes).toHaveLength(SIZE);
  for (const n of oldNodes) expect(n.metadata.labels).toMatchObject({ team: 'data' });

  // A workload on the group's nodes guarded by a PDB: upgrade-manager must drain, not kill.
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
          nodeSelector: { 'testkit.keiko.dev/simulated-cluster': account.clusterName },
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

  // Sample from before the change until the group is Ready again.
  let minAvailable = Number.POSITIVE_INFINITY;
  let minRunningPods = Number.POSITIVE_INFINITY;
  const cordoned = new Set<string>();
  const readyWhileRolling: string[] = [];
  const progressingSeen = new Set<string>();
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const nodes = (
        await client.list<NodeObject>(CoreResources.nodes, {
          labelSelector: `testkit.keiko.dev/simulated-cluster=${account.clusterName}`,
        })
      ).items;
      minAvailable = Math.min(minAvailable, nodes.filter((n) => isReady(n) && !n.spec?.unschedulable).length);
      for (const n of nodes) if (n.spec?.unschedulable) cordoned.add(n.metadata.name!);
      minRunningPods = Math.min(minRunningPods, (await running()).length);
      // The group first: a RollingUpgrade's status only moves forward, so Ready (of the current
      // generation; the RollingUpgrade is created just before the new generation's status is
      // written) read before a RollingUpgrade still running is a group Ready while the roll ran.
      const g = await getGroup(env, GROUP);
      const rus = (await client.list<RollingUpgrade>(RollingUpgrades, { namespace })).items;
      // The status while it waits on the RollingUpgrade (the RollingUpgrade is created before this
      // status is written, so it is sampled rather than read once).
      if (
        g.status?.currentState === 'InitUpgrade' &&
        condition(g, 'Progressing')?.status === 'True' &&
        condition(g, 'Progressing')?.reason === 'UpgradeInProgress' &&
        condition(g, 'Ready')?.status === 'False'
      )
        progressingSeen.add(`${g.status.strategyResourceNamespace}/${g.status.strategyResourceName}`);
      if (
        g.status?.currentState === 'Ready' &&
        g.status.observedGeneration === g.metadata.generation &&
        rus.some((ru) => ru.status?.currentStatus !== 'completed')
      )
        readyWhileRolling.push(
          rus.map((ru) => `${ru.metadata.name}:${ru.status?.currentStatus ?? '(none)'}`).join(' '),
        );
      samples++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  await client.patch(InstanceGroups, GROUP, namespace, {
    spec: {
      eks: {
        configuration: {
          instanceType: 'm5.xlarge',
          labels: { team: 'analytics', 'keiko.dev/pool': GROUP },
          taints: [{ key: 'dedicated', value: `${GROUP}-v2`, effect: 'NoSchedule' }],
        },
      },
    },
  });
  const lt = await waitFor(
    async () => {
      const t = await new Ec2(env.aws).launchTemplate(names.launchTemplate, { ttlMs: 0 });
      return t?.LatestVersionNumber === 2 && t;
    },
    { description: 'launch template version 2' },
  );
  const ruName = `rollup-nodes-${lt.LaunchTemplateId}-2`;
  const ru = await waitFor(() => client.getOrUndefined<RollingUpgrade>(RollingUpgrades, ruName, namespace), {
    description: `RollingUpgrade ${ruName}`,
    timeoutMs: 30_000,
  });
  expect(ru.spec.asgName).toBe(names.autoScalingGroup);
  expect(ru.spec.strategy).toMatchObject({ mode: 'eager', maxUnavailable: MAX_UNAVAILABLE });
  expect(ru.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'instance-manager' });

  // upgrade-manager runs the roll to completion (fail fast if it exits or reports an error; a probe
  // that throws only counts as "not yet" in waitFor, hence the abort signal).
  const stop = new AbortController();
  const onExit = (code: number | null) =>
    stop.abort(new Error(`upgrade-manager exited with ${code} (log: ${logPath})`));
  if (upgradeManager!.exitCode !== null) onExit(upgradeManager!.exitCode);
  upgradeManager!.once('exit', onExit);
  const done = await waitFor(
    async () => {
      const r = await client.get<RollingUpgrade>(RollingUpgrades, ruName, namespace);
      if (r.status?.currentStatus === 'error')
        stop.abort(new Error(`RollingUpgrade failed: ${JSON.stringify(r.status)} (log: ${logPath})`));
      return r.status?.currentStatus === 'completed' && r;
    },
    {
      description: `upgrade-manager to complete ${ruName} (log: ${logPath})`,
      timeoutMs: 180_000,
      intervalMs: 250,
      signal: stop.signal,
    },
  ).finally(() => upgradeManager!.off('exit', onExit));
  expect(done.status).toMatchObject({ totalNodes: SIZE, nodesProcessed: SIZE });

  // instance-manager observes the status path and settles.
  const rolled = await waitForGroup(
    env,
    GROUP,
    (g, nodes) =>
      g.status?.currentState === 'Ready' &&
      g.status.observedGeneration === g.metadata.generation &&
      nodes.length === SIZE &&
      nodes.every(
        (n) => isReady(n) && n.metadata.labels?.['node.kubernetes.io/instance-type'] === 'm5.xlarge',
      ),
    `${GROUP} Ready on m5.xlarge`,
    60_000,
  );
  sampling = false;
  await sampler;
  console.log(
    `crd roll: ${samples} samples, available nodes >= ${minAvailable} of ${SIZE}, running web pods >= ${minRunningPods} of 2`,
  );
  expect(samples).toBeGreaterThan(10);
  expect(rolled.status?.latestTemplateVersion).toBe('2');
  expect(condition(rolled, 'Progressing')).toMatchObject({ status: 'False' });

  // upgrade-manager replaced every original instance; the Nodes are new and carry the new user data.
  const after = (await asgs.get(names.autoScalingGroup, { ttlMs: 0 }))!.Instances!.map((i) => i.InstanceId!);
  expect(after).toHaveLength(SIZE);
  expect(after.filter((id) => originals.includes(id))).toEqual([]);
  for (const n of await groupNodes(env, GROUP)) {
    expect(oldNodes.map((o) => o.metadata.name)).not.toContain(n.metadata.name);
    expect(n.metadata.labels).toMatchObject({
      team: 'analytics',
      'keiko.dev/pool': GROUP,
      'node.kubernetes.io/role': GROUP,
      'node.kubernetes.io/instance-type': 'm5.xlarge',
    });
    expect(n.spec?.taints?.filter((t) => t.key === 'dedicated')).toEqual([
      expect.objectContaining({ value: `${GROUP}-v2`, effect: 'NoSchedule' }),
    ]);
    expect(n.spec?.unschedulable).toBeFalsy();
  }

  // Availability held all along; drained, not killed.
  expect(minAvailable).toBeGreaterThanOrEqual(SIZE - MAX_UNAVAILABLE);
  expect(minRunningPods).toBeGreaterThanOrEqual(1);
  for (const n of oldNodes) expect(cordoned).toContain(n.metadata.name);
  expect(readyWhileRolling).toEqual([]);
  expect([...progressingSeen]).toEqual([`${namespace}/${ruName}`]);
  await waitFor(async () => (await running()).length === 2, {
    description: '2 web pods running again',
    timeoutMs: 60_000,
  });
  expect((await running()).filter((p) => podsBefore.has(p.metadata.name))).toHaveLength(0);

  // Exactly one RollingUpgrade, and none added by later reconciles of the settled group.
  const all = await client.list(RollingUpgrades, { namespace });
  expect(all.items.map((o) => o.metadata.name)).toEqual([ruName]);
}, 300_000);
