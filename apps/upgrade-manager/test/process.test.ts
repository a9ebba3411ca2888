/**
 * The built controller (dist/main.js) as a process, under its chart's ServiceAccount and RBAC (testkit
 * chartIdentity), leader election on: it rolls an ASG of 6 nodes while being SIGKILLed at three random
 * points and restarted. Availability is sampled throughout; at the end every old instance was terminated
 * exactly once (12 instances ever launched: no replacement was terminated), none is left in the ASG,
 * and no node is left cordoned.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CoreResources, type KubeObject } from '@keiko/operator-kit';
import { chartIdentity, testKubeConfig, uniqueName, waitFor } from '@keiko/testkit';
import {
  allInstances,
  CHART_DIR,
  clusterNodes,
  createRollingUpgrade,
  deployWithPdb,
  getRollingUpgrade,
  newLaunchTemplateVersion,
  Pdbs,
  type RollWorld,
  readyNodes,
  rollWorld,
  sampleAvailability,
} from './support.js';

type Pod = KubeObject & {
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
};

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
      // The log (path in every failure message) then has each pass, step and drain.
      '--log-level=debug',
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

/** On a failure: the pods, nodes and PDB as the API server has them, appended to the process log. */
async function dumpState(): Promise<void> {
  const pods = await world.client.list<Pod>(CoreResources.pods, { namespace: world.namespace });
  const pdb = await world.client.get<KubeObject & { status?: unknown }>(Pdbs, 'web', world.namespace);
  const nodes = (await clusterNodes(world)).map((n) => ({
    name: n.metadata.name,
    unschedulable: n.spec?.unschedulable,
    ready: n.status?.conditions?.find((c) => c.type === 'Ready')?.status,
  }));
  const state = {
    at: Date.now(),
    pods: pods.items.map((p) => ({
      name: p.metadata.name,
      node: p.spec?.nodeName,
      phase: p.status?.phase,
      deleting: p.metadata.deletionTimestamp,
      ready: p.status?.conditions?.find((c) => c.type === 'Ready')?.status,
    })),
    pdb: pdb.status,
    nodes,
    roll: (await getRollingUpgrade(world, 'roll')).status,
  };
  appendFileSync(logPath, `${JSON.stringify({ test: 'state at timeout', ...state })}\n`);
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
    // Up to ~2 min is legitimate: a process killed while its eviction request is in flight can leave
    // the API server having charged the PodDisruptionBudget (status.disruptedPods) without deleting
    // the pod; the disruption controller keeps that pod out of the healthy count until it is deleted
    // or DeletionTimeout (2 min) passes, and every eviction meanwhile gets 429. Seen here in about 1
    // run in 8 (the PDB showed the pod in disruptedPods, undeleted, for the whole stall).
    const progressMs = 180_000;
    const seen = JSON.stringify((await getRollingUpgrade(world, 'roll')).status?.instances ?? null);
    await waitFor(
      async () => JSON.stringify((await getRollingUpgrade(world, 'roll')).status?.instances ?? null) !== seen,
      {
        timeoutMs: progressMs,
        intervalMs: 200,
        description: `process ${k + 1} to make progress (log: ${logPath})`,
      },
    ).catch(async (err) => {
      await dumpState();
      throw err;
    });
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
    // As above: the last kill may have left an interrupted eviction charged to the PDB for 2 min.
    { timeoutMs: 240_000, intervalMs: 500, description: `the roll to complete (log: ${logPath})` },
  ).catch(async (err) => {
    await dumpState();
    throw err;
  });
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
}, 900_000);
