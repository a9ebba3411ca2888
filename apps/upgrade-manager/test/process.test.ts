/**
 * The built controller (dist/main.js) as a process, under its chart's ServiceAccount and RBAC (testkit
 * chartIdentity), leader election on: it rolls an ASG of 6 nodes while being SIGKILLed at three random
 * points and restarted. Availability is sampled throughout; at the end every old instance was terminated
 * exactly once (12 instances ever launched: no replacement was terminated), none is left in the ASG,
 * and no node is left cordoned.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { chartIdentity, testKubeConfig, uniqueName, waitFor } from '@keiko/testkit';
import {
  allInstances,
  CHART_DIR,
  clusterNodes,
  createRollingUpgrade,
  deployWithPdb,
  getRollingUpgrade,
  newLaunchTemplateVersion,
  type RollWorld,
  readyNodes,
  rollWorld,
  sampleAvailability,
} from './support.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let world: RollWorld;
let kubeconfigPath: string;
let proc: ChildProcess | undefined;
const logPath = `/tmp/${uniqueName('upgrade-manager-process')}.log`;

beforeAll(async () => {
  world = await rollWorld('um-process', 6);
  await deployWithPdb(world, 'web', 6);
  const id = await chartIdentity(testKubeConfig(), CHART_DIR, {
    releaseName: uniqueName('um'),
    namespace: world.namespace,
    values: { namespace: world.namespace },
  });
  kubeconfigPath = id.kubeconfigPath;
}, 120_000);
afterAll(async () => {
  proc?.kill('SIGKILL');
  await world?.destroy();
});

function startProcess(): ChildProcess {
  const { account } = world;
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(
    process.execPath,
    [
      MAIN,
      `--namespace=${world.namespace}`,
      '--ops-port=0',
      '--leader-elect=true',
      '--requeue-seconds=1',
      '--drain-timeout=120',
    ],
    {
      env: {
        PATH: process.env.PATH,
        KUBECONFIG: kubeconfigPath,
        POD_NAMESPACE: world.namespace,
        AWS_ENDPOINT_URL: account.endpoint,
        AWS_REGION: account.region,
        AWS_ACCESS_KEY_ID: account.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: account.credentials.secretAccessKey,
        ...(account.credentials.sessionToken ? { AWS_SESSION_TOKEN: account.credentials.sessionToken } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));

test('rolls to completion under chart RBAC while killed at three random points', async () => {
  const before = (await world.asgs.get(world.asgName, { ttlMs: 0 }))!.Instances!.map((i) => i.InstanceId!);
  await newLaunchTemplateVersion(world);
  const sampler = sampleAvailability(world, 6);
  await createRollingUpgrade(world, 'roll', {
    strategy: { type: 'randomUpdate', mode: 'lazy', maxUnavailable: 2 },
  });

  const kills: string[] = [];
  for (let k = 0; k < 3; k++) {
    proc = startProcess();
    // Wait until this process has done something (status moved on), then a random 0-3 s more.
    const seen = JSON.stringify((await getRollingUpgrade(world, 'roll')).status?.instances ?? null);
    await waitFor(
      async () => JSON.stringify((await getRollingUpgrade(world, 'roll')).status?.instances ?? null) !== seen,
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        description: `process ${k + 1} to make progress (log: ${logPath})`,
      },
    );
    await new Promise((r) => setTimeout(r, Math.random() * 3000));
    const ru = await getRollingUpgrade(world, 'roll');
    kills.push((ru.status?.instances ?? []).map((i) => `${i.instanceId}:${i.phase}`).join(' '));
    proc.kill('SIGKILL');
    await exited(proc);
  }
  proc = startProcess();
  const done = await waitFor(
    async () => {
      const ru = await getRollingUpgrade(world, 'roll');
      if (ru.status?.currentStatus === 'error') throw new Error(`roll failed: ${JSON.stringify(ru.status)}`);
      return ru.status?.currentStatus === 'completed' && ru;
    },
    { timeoutMs: 150_000, intervalMs: 500, description: `the roll to complete (log: ${logPath})` },
  );
  const { maxUnavailable, worst } = await sampler.stop();
  console.log(`killed at: \n${kills.join('\n')}`);
  if (maxUnavailable > 2) throw new Error(`more than 2 nodes unavailable:\n${worst.join('\n')}`);

  expect(done.status?.instances?.map((i) => i.instanceId).sort()).toEqual([...before].sort());
  const group = (await world.asgs.get(world.asgName, { ttlMs: 0 }))!;
  expect(group.Instances!.filter((i) => before.includes(i.InstanceId!))).toEqual([]);
  expect(group.Instances).toHaveLength(6);
  expect(await allInstances(world)).toHaveLength(12);
  await waitFor(async () => (await readyNodes(world)).length === 6, { description: '6 Ready nodes' });
  expect(
    (await clusterNodes(world)).filter((n) => n.spec?.unschedulable).map((n) => n.metadata.name),
  ).toEqual([]);
}, 300_000);
