/**
 * Hooks as Kubernetes Jobs on the real control plane (kube-controller-manager's Job controller, kwok
 * running the Job pods: its default `pod-complete` stage finishes every Job pod with exit code 0).
 *
 * Holding a hook is done through scheduling: the preDrain hook has a nodeSelector that no Node
 * matches at first. Its pod stays Pending (the hook is "running"); a kwok Node carrying the label
 * releases it. A hook whose nodeSelector never matches times out: the Job controller fails the Job at
 * activeDeadlineSeconds (`DeadlineExceeded`). A hook whose image is testkit's KWOK_FAILING_IMAGE runs
 * and exits 1 (a kwok stage), and the Job controller fails the Job (`BackoffLimitExceeded`).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CoreResources, type KubeObject } from '@keiko/operator-kit';
import {
  KWOK_FAILING_IMAGE,
  KWOK_NODE_ANNOTATION,
  KWOK_NODE_ANNOTATION_VALUE,
  uniqueName,
  waitFor,
} from '@keiko/testkit';
import { RollingUpgrades } from '../src/api/rollingupgrade.js';
import { DEFAULTS } from '../src/config.js';
import { type HookJob, Jobs } from '../src/controller/hooks.js';
import {
  clusterNodes,
  createRollingUpgrade,
  getRollingUpgrade,
  newLaunchTemplateVersion,
  type RollWorld,
  readyNodes,
  rollWorld,
  startController,
} from './support.js';

const GATE_LABEL = 'test.keiko.io/hook-gate';
let world: RollWorld;
let controller: Awaited<ReturnType<typeof startController>>;
let gateNode: string | undefined;

beforeAll(async () => {
  world = await rollWorld('hooks', 3, { bootDelayMs: 500 });
  controller = await startController(world, { hookNamespace: world.namespace });
}, 120_000);
afterAll(async () => {
  await controller?.stop();
  if (gateNode) await world.client.delete(CoreResources.nodes, gateNode);
  await world?.destroy();
});

type Container = { image: string; command: string[]; env: { name: string; value: string }[] };
const containerOf = (job: HookJob) =>
  (job.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!;
const envOf = (job: HookJob) => Object.fromEntries(containerOf(job).env.map((e) => [e.name, e.value]));
const hookOf = (job: HookJob) => job.metadata.labels?.['upgrademgr.keikoproj.io/hook'];
const complete = (job: HookJob | undefined) =>
  job?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ?? false;

async function hookJobs(): Promise<HookJob[]> {
  return (await world.client.list<HookJob>(Jobs, { namespace: world.namespace })).items;
}
const instanceOfNode = (n: { spec?: { providerID?: string } }) => n.spec?.providerID?.split('/').pop();

test('preDrain, postDrain, postWait and postTerminate run as Jobs for every instance, in order; the roll waits for them', async () => {
  const before = (await world.asgs.get(world.asgName, { ttlMs: 0 }))!.Instances!.map((i) => i.InstanceId!);
  const nodeNameOf = new Map((await clusterNodes(world)).map((n) => [instanceOfNode(n)!, n.metadata.name!]));
  expect([...nodeNameOf.keys()].sort()).toEqual([...before].sort());
  await newLaunchTemplateVersion(world);
  const gate = uniqueName('gate');
  await createRollingUpgrade(world, 'hooks', {
    strategy: { mode: 'lazy', maxUnavailable: 1, drainTimeout: 60 },
    preDrain: {
      script: 'echo "draining $INSTANCE_NAME ($INSTANCE_ID) of $ASG_NAME"',
      env: [
        { name: 'GREETING', value: 'hello' },
        { name: 'INSTANCE_ID', value: 'cannot-override' },
      ],
      nodeSelector: { [GATE_LABEL]: gate },
    },
    postDrain: {
      image: 'registry.example/hooks:2',
      command: ['/hooks/post-drain', '--verbose'],
      script: 'echo overridden by command',
      postWaitScript: 'sleep 1',
    },
    postTerminate: { script: 'echo "terminated $INSTANCE_ID"', timeoutSeconds: 120 },
  });

  // Held: the first preDrain Job exists but cannot run. Nothing is cordoned or terminated meanwhile.
  const [held] = await waitFor(
    async () => {
      const jobs = await hookJobs();
      return jobs.length > 0 && jobs;
    },
    { timeoutMs: 30_000, intervalMs: 200, description: 'the first preDrain Job' },
  );
  expect(hookOf(held!)).toBe('preDrain');
  const heldInstance = envOf(held!).INSTANCE_ID!;
  const checkHeld = async () => {
    const ru = await getRollingUpgrade(world, 'hooks');
    const record = ru.status?.instances?.find((i) => i.instanceId === heldInstance);
    expect(record).toMatchObject({ phase: 'Draining', hooks: [{ name: 'preDrain', result: 'Running' }] });
    expect(record?.message).toContain(
      `waiting for hook preDrain (Job ${world.namespace}/${held!.metadata.name})`,
    );
    expect((await clusterNodes(world)).filter((n) => n.spec?.unschedulable)).toEqual([]);
    const group = (await world.asgs.get(world.asgName, { ttlMs: 0 }))!;
    expect(group.Instances!.map((i) => i.InstanceId).sort()).toEqual([...before].sort());
    const jobs = await hookJobs();
    expect(jobs.map((j) => j.metadata.name)).toEqual([held!.metadata.name]);
  };
  for (let i = 0; i < 6; i++) {
    await checkHeld();
    await new Promise((r) => setTimeout(r, 500));
  }
  // A restart finds the same Job (deterministic name): no second preDrain Job, still held.
  await controller.stop();
  controller = await startController(world, { hookNamespace: world.namespace });
  await new Promise((r) => setTimeout(r, 2000));
  await checkHeld();

  // Release: a kwok Node with the gate label. From now on, sample the ordering invariants.
  gateNode = `${gate}-node`;
  await world.client.create(CoreResources.nodes, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: gateNode,
      labels: { [GATE_LABEL]: gate, 'kubernetes.io/hostname': gateNode },
      annotations: { [KWOK_NODE_ANNOTATION]: KWOK_NODE_ANNOTATION_VALUE },
    },
  } as KubeObject);
  const violations: string[] = [];
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        const [jobs, nodes, group] = await Promise.all([
          hookJobs(),
          clusterNodes(world),
          world.asgs.get(world.asgName, { ttlMs: 0 }),
        ]);
        const job = (id: string, hook: string) =>
          jobs.find((j) => hookOf(j) === hook && envOf(j).INSTANCE_ID === id);
        const inService = new Set(
          group!.Instances!.filter((i) => i.LifecycleState === 'InService').map((i) => i.InstanceId),
        );
        for (const n of nodes) {
          const id = instanceOfNode(n)!;
          if (n.spec?.unschedulable && !complete(job(id, 'preDrain')))
            violations.push(`${id} cordoned before its preDrain Job completed`);
        }
        for (const id of before) {
          if (!inService.has(id) && !(complete(job(id, 'postDrain')) && complete(job(id, 'postWait'))))
            violations.push(`${id} terminated before its postDrain/postWait Jobs completed`);
          if (job(id, 'postTerminate') && inService.has(id))
            violations.push(`${id}: postTerminate Job before the termination`);
        }
        samples++;
      } catch {
        // a failed sample is skipped
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  })();

  const done = await waitFor(
    async () => {
      const ru = await getRollingUpgrade(world, 'hooks');
      if (ru.status?.currentStatus === 'error') throw new Error(`roll failed: ${JSON.stringify(ru.status)}`);
      return ru.status?.currentStatus === 'completed' && ru;
    },
    { timeoutMs: 120_000, intervalMs: 500, description: 'the roll to complete' },
  );
  sampling = false;
  await sampler;
  expect(samples).toBeGreaterThan(10);
  expect(violations).toEqual([]);

  // Exactly one Job per instance and hook, each complete, with the environment upstream gave scripts.
  const jobs = await hookJobs();
  expect(jobs).toHaveLength(before.length * 4);
  for (const id of before) {
    for (const hook of ['preDrain', 'postDrain', 'postWait', 'postTerminate']) {
      const matching = jobs.filter((j) => hookOf(j) === hook && envOf(j).INSTANCE_ID === id);
      expect(matching).toHaveLength(1);
      const job = matching[0]!;
      expect(complete(job)).toBe(true);
      expect(envOf(job)).toMatchObject({
        ASG_NAME: world.asgName,
        INSTANCE_ID: id,
        INSTANCE_NAME: nodeNameOf.get(id),
      });
      const c = containerOf(job);
      if (hook === 'preDrain') {
        expect(envOf(job).GREETING).toBe('hello');
        expect(c.command).toEqual(['sh', '-c', 'echo "draining $INSTANCE_NAME ($INSTANCE_ID) of $ASG_NAME"']);
        expect(c.image).toBe(DEFAULTS.hookImage);
      }
      if (hook === 'postDrain') {
        expect(c.command).toEqual(['/hooks/post-drain', '--verbose']);
        expect(c.image).toBe('registry.example/hooks:2');
      }
      if (hook === 'postWait') {
        expect(c.command).toEqual(['sh', '-c', 'sleep 1']);
        expect(c.image).toBe('registry.example/hooks:2');
      }
      if (hook === 'postTerminate') expect(job.spec?.activeDeadlineSeconds).toBe(120);
    }
  }
  for (const record of done.status!.instances!) {
    expect(record.phase).toBe('Terminated');
    expect(record.hooks?.map((h) => `${h.name}:${h.result}`)).toEqual([
      'preDrain:Succeeded',
      'postDrain:Succeeded',
      'postWait:Succeeded',
      'postTerminate:Succeeded',
    ]);
  }
  await waitFor(async () => (await readyNodes(world)).length === 3, { description: '3 Ready nodes' });
}, 240_000);

test('a hook Job that fails (times out) pauses the roll with HookFailed; ignoreFailure lets it go on', async () => {
  const before = (await world.asgs.get(world.asgName, { ttlMs: 0 }))!.Instances!.map((i) => i.InstanceId!);
  await newLaunchTemplateVersion(world);
  await createRollingUpgrade(world, 'failing', {
    strategy: { mode: 'lazy', maxUnavailable: 1 },
    // No Node has this label: the pod never runs and the Job controller fails the Job after 2 s.
    preDrain: { script: 'true', nodeSelector: { [GATE_LABEL]: 'nowhere' }, timeoutSeconds: 2 },
  });
  const paused = await waitFor(
    async () => {
      const ru = await getRollingUpgrade(world, 'failing');
      return ru.status?.conditions?.some((c) => c.type === 'Ready' && c.reason === 'HookFailed') && ru;
    },
    { timeoutMs: 60_000, intervalMs: 500, description: 'Ready=False HookFailed' },
  );
  const [record] = paused.status!.instances!;
  expect(paused.status!.instances).toHaveLength(1);
  expect(record).toMatchObject({ phase: 'Draining', hooks: [{ name: 'preDrain', result: 'Failed' }] });
  const ready = paused.status!.conditions!.find((c) => c.type === 'Ready')!;
  expect(ready.status).toBe('False');
  expect(ready.message).toContain(record!.instanceId);
  expect(ready.message).toContain('hook preDrain failed');
  expect(ready.message).toContain('timed out after 2s');
  expect(paused.status!.conditions!.find((c) => c.type === 'Paused')).toMatchObject({
    status: 'True',
    reason: 'HookFailed',
  });
  const events = await world.client.list<KubeObject & { reason?: string; note?: string }>(
    CoreResources.events,
    { namespace: world.namespace },
  );
  expect(
    events.items.filter((e) => e.reason === 'HookFailed' && e.note?.includes(record!.instanceId)),
  ).toHaveLength(1);

  // It stays paused: nothing cordoned, nothing terminated, no further instance selected.
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 750));
    const ru = await getRollingUpgrade(world, 'failing');
    expect(ru.status!.instances!.map((x) => x.instanceId)).toEqual([record!.instanceId]);
    expect(ru.status!.currentStatus).toBe('running');
    expect((await clusterNodes(world)).filter((n) => n.spec?.unschedulable)).toEqual([]);
    const group = (await world.asgs.get(world.asgName, { ttlMs: 0 }))!;
    expect(group.Instances!.map((x) => x.InstanceId).sort()).toEqual([...before].sort());
  }

  // ignoreFailure: the failed hook is reported and the instances go on.
  await world.client.patch(RollingUpgrades, 'failing', world.namespace, {
    spec: { preDrain: { ignoreFailure: true } },
  });
  const done = await waitFor(
    async () => {
      const ru = await getRollingUpgrade(world, 'failing');
      if (ru.status?.currentStatus === 'error') throw new Error(`roll failed: ${JSON.stringify(ru.status)}`);
      return ru.status?.currentStatus === 'completed' && ru;
    },
    { timeoutMs: 120_000, intervalMs: 500, description: 'the roll to complete' },
  );
  expect(done.status!.instances!.map((i) => i.instanceId).sort()).toEqual([...before].sort());
  for (const r of done.status!.instances!)
    expect(r.hooks).toMatchObject([{ name: 'preDrain', result: 'Ignored' }]);
  expect(done.status!.conditions!.find((c) => c.type === 'Paused')?.status).not.toBe('True');
}, 240_000);

test('a hook whose pod exits 1 fails its Job (BackoffLimitExceeded): the roll pauses before the drain, and deleting it leaves nothing behind', async () => {
  const before = (await world.asgs.get(world.asgName, { ttlMs: 0 }))!.Instances!.map((i) => i.InstanceId!);
  await newLaunchTemplateVersion(world);
  // kwok fails a pod of this image with exit code 1 (testkit's stage); the Job has backoffLimit 0.
  await createRollingUpgrade(world, 'exit-1', {
    strategy: { mode: 'lazy', maxUnavailable: 1 },
    preDrain: { image: KWOK_FAILING_IMAGE, command: ['/bin/false'], timeoutSeconds: 60 },
  });
  const paused = await waitFor(
    async () => {
      const ru = await getRollingUpgrade(world, 'exit-1');
      return ru.status?.conditions?.some((c) => c.type === 'Ready' && c.reason === 'HookFailed') && ru;
    },
    { timeoutMs: 60_000, intervalMs: 250, description: 'Ready=False HookFailed' },
  );
  const [record] = paused.status!.instances!;
  expect(record).toMatchObject({ phase: 'Draining', hooks: [{ name: 'preDrain', result: 'Failed' }] });
  const ready = paused.status!.conditions!.find((c) => c.type === 'Ready')!;
  expect(ready.message).toContain(`${record!.instanceId}: hook preDrain failed`);
  expect(ready.message).toContain('BackoffLimitExceeded');
  // The exit code, from the Job's pod (kwok's failing stage: exit code 1, reason Error).
  expect(ready.message).toMatch(/container \S+ exited with code 1 \(Error\)/);
  expect(ready.message).not.toContain('timed out');
  const [job] = (await hookJobs()).filter(
    (j) => envOf(j).INSTANCE_ID === record!.instanceId && containerOf(j).image === KWOK_FAILING_IMAGE,
  );
  expect(job?.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({
    status: 'True',
    reason: 'BackoffLimitExceeded',
  });
  // Paused before the drain: nothing cordoned, nothing terminated, for a while.
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 750));
    expect((await clusterNodes(world)).filter((n) => n.spec?.unschedulable)).toEqual([]);
    const group = (await world.asgs.get(world.asgName, { ttlMs: 0 }))!;
    expect(group.Instances!.map((x) => x.InstanceId).sort()).toEqual([...before].sort());
  }
  // Deleted: the finalizer removes its hook Jobs, and the CR goes.
  await world.client.delete(RollingUpgrades, 'exit-1', world.namespace);
  await waitFor(
    async () =>
      !(await world.client.getOrUndefined(RollingUpgrades, 'exit-1', world.namespace)) &&
      (await hookJobs()).every((j) => containerOf(j).image !== KWOK_FAILING_IMAGE),
    { timeoutMs: 30_000, intervalMs: 250, description: 'the roll and its hook Jobs gone' },
  );
}, 120_000);
