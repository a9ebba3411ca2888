/**
 * Benchmark (not a test): 20 InstanceGroups across 10 namespaces reconciled concurrently, then one
 * steady-state resync of all of them. Starts its own control plane and moto, runs the controller
 * in-process (5 workers, the default), and prints: time until all 20 are Ready, the AWS calls of the
 * creation, and the AWS calls of one resync (writes must be 0; reads per group are bounded).
 * Run: pnpm --filter @keiko/instance-manager bench
 */
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
} from '@aws-sdk/client-iam';
import { AwsClients } from '@keiko/aws-kit';
import { KubeClient, type KubeObject, Manager, silentLogger } from '@keiko/operator-kit';
import {
  ControlPlane,
  createTestAwsAccount,
  installCrds,
  MotoServer,
  NodeSimulator,
  waitFor,
} from '@keiko/testkit';
import { Registry } from 'prom-client';
import type {
  instanceGroupController as ControllerFactory,
  countAwsCalls as CountAwsCalls,
} from '../src/controller/index.js';

// The built library (plain node runs this script); typed from the source.
const { instanceGroupController, countAwsCalls } = (await import('../dist/controller.js' as string)) as {
  instanceGroupController: typeof ControllerFactory;
  countAwsCalls: typeof CountAwsCalls;
};

const GROUPS = 20;
const NAMESPACES = 10;
const RESYNC_MS = 20_000;
const IG = {
  group: 'instancemgr.keikoproj.io',
  version: 'v1alpha1',
  plural: 'instancegroups',
  kind: 'InstanceGroup',
  namespaced: true,
};
const NS = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false };
const WRITE =
  /^(Create|Update|Put|Delete|Attach|Detach|Modify|Terminate|Set|Suspend|Resume|Enable|Disable|Add|Remove)/;

const t0 = Date.now();
const [cp, moto] = await Promise.all([ControlPlane.start(), MotoServer.start()]);
console.log(`control plane + moto up in ${Date.now() - t0} ms`);
let sim: NodeSimulator | undefined;
let manager: Manager | undefined;
try {
  const kc = cp.kubeConfig();
  await installCrds(
    kc,
    new URL(
      '../../../deploy/charts/instance-manager/crds/instancemgr.keikoproj.io_instancegroups.yaml',
      import.meta.url,
    ).pathname,
  );
  const account = await createTestAwsAccount({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    clusterName: 'bench',
  });
  sim = await NodeSimulator.start({
    kubeConfig: kc,
    endpoint: moto.endpoint,
    accountId: account.accountId,
    region: account.region,
    clusterName: account.clusterName,
    pollIntervalMs: 250,
  });
  const setup = await AwsClients.create({
    region: account.region,
    endpoint: moto.endpoint,
    credentials: account.credentials,
  });
  // Bring-your-own IAM: moto 5.2.5 ships without AWS-managed policies (see the app README).
  await setup.iam.send(new CreateRoleCommand({ RoleName: 'bench-nodes', AssumeRolePolicyDocument: '{}' }));
  await setup.iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'bench-nodes' }));
  await setup.iam.send(
    new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'bench-nodes', RoleName: 'bench-nodes' }),
  );

  const registry = new Registry();
  const aws = await AwsClients.create({
    region: account.region,
    endpoint: moto.endpoint,
    credentials: account.credentials,
    registry,
    customize: countAwsCalls,
  });
  manager = await Manager.create({
    name: 'instance-manager',
    kubeConfig: kc,
    logger: silentLogger(),
    registry,
  });
  instanceGroupController(manager, {
    aws,
    configNamespace: 'default',
    pollMs: 1_000,
    resyncMs: RESYNC_MS,
    registry,
  });
  await manager.start();
  const client = await KubeClient.fromKubeConfig(kc, 'bench');

  const calls = async () => {
    const m = await registry.getSingleMetric('aws_api_calls_total')!.get();
    const out = new Map<string, number>();
    for (const v of m.values)
      out.set(
        `${v.labels.service}:${v.labels.operation}`,
        (out.get(`${v.labels.service}:${v.labels.operation}`) ?? 0) + v.value,
      );
    return out;
  };
  const diff = (a: Map<string, number>, b: Map<string, number>) =>
    [...b]
      .map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const)
      .filter(([, v]) => v > 0)
      .sort();

  const before = await calls();
  const tCreate = Date.now();
  for (let n = 0; n < NAMESPACES; n++) {
    await client.create(NS, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `tenant-${n}` } });
  }
  await Promise.all(
    Array.from({ length: GROUPS }, (_, i) =>
      client.create(IG, {
        apiVersion: 'instancemgr.keikoproj.io/v1alpha1',
        kind: 'InstanceGroup',
        metadata: { name: `group-${i}`, namespace: `tenant-${i % NAMESPACES}` },
        spec: {
          provisioner: 'eks',
          eks: {
            minSize: 1,
            maxSize: 3,
            configuration: {
              clusterName: 'bench',
              image: 'latest',
              instanceType: 'm5.large',
              subnets: account.subnets.map((s) => s.name),
              securityGroups: [account.securityGroups.node],
              roleName: 'bench-nodes',
              instanceProfileName: 'bench-nodes',
              labels: { tenant: `tenant-${i % NAMESPACES}` },
            },
          },
        },
      } as never),
    ),
  );
  await waitFor(
    async () =>
      (await client.list<KubeObject & { status?: { currentState?: string } }>(IG)).items.filter(
        (g) => g.status?.currentState === 'Ready',
      ).length === GROUPS,
    { description: `${GROUPS} groups Ready`, timeoutMs: 300_000, intervalMs: 250 },
  );
  const readyMs = Date.now() - tCreate;
  const afterCreate = await calls();
  const creation = diff(before, afterCreate);
  console.log(
    `${GROUPS} InstanceGroups in ${NAMESPACES} namespaces: all Ready (nodes Ready) in ${readyMs} ms`,
  );
  console.log(`AWS calls to create them: ${creation.reduce((s, [, v]) => s + v, 0)}`);
  for (const [k, v] of creation) console.log(`  ${k} ${v}`);

  // Steady state: one full resync period (jittered +-20%) with nothing changing.
  await new Promise((r) => setTimeout(r, RESYNC_MS * 0.5));
  const steadyStart = await calls();
  const reconcilesBefore = (
    await registry.getSingleMetric('controller_runtime_reconcile_total')!.get()
  ).values.reduce((s, v) => s + v.value, 0);
  await new Promise((r) => setTimeout(r, RESYNC_MS * 1.3));
  const steady = diff(steadyStart, await calls());
  const reconciles =
    (await registry.getSingleMetric('controller_runtime_reconcile_total')!.get()).values.reduce(
      (s, v) => s + v.value,
      0,
    ) - reconcilesBefore;
  const writes = steady.filter(([k]) => WRITE.test(k.split(':')[1]!));
  const reads = steady.reduce((s, [, v]) => s + v, 0) - writes.reduce((s, [, v]) => s + v, 0);
  console.log(
    `steady-state resync: ${reconciles} reconciles over ${(RESYNC_MS * 1.3) / 1000} s, AWS writes ${writes.length === 0 ? 0 : writes.map(([k, v]) => `${k}=${v}`).join(', ')}, AWS reads ${reads} (${(reads / Math.max(1, reconciles)).toFixed(1)} per reconcile)`,
  );
  for (const [k, v] of steady) console.log(`  ${k} ${v}`);
  const hist = (await registry.getSingleMetric('instance_manager_aws_calls_per_reconcile')!.get()).values;
  const count = hist.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value ?? 0;
  const sum = hist.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))?.value ?? 0;
  console.log(
    `instance_manager_aws_calls_per_reconcile over the whole run: ${count} reconciles, mean ${(sum / Math.max(1, count)).toFixed(1)} calls`,
  );
  if (writes.length) process.exitCode = 1;
  client.transport.close();
} finally {
  await manager?.stop();
  await sim?.stop();
  await Promise.all([cp.stop(), moto.stop()]);
}
