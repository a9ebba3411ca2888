/**
 * Benchmark (not a test): roll 100 nodes across 10 ASGs (10 each) with a simulated boot delay.
 * Starts its own control plane and moto, runs the built controller (dist/main.js) as a child process,
 * creates one RollingUpgrade per ASG (lazy, maxUnavailable 2) and measures until all complete.
 * Prints total time against the lower bound (ceil(10 / maxUnavailable) batches x boot delay per ASG,
 * ASGs in parallel; drains are of empty nodes), AWS calls per replaced node (from the controller's
 * /metrics), and the controller's peak RSS (VmHWM) next to its heap (used/total) and external memory
 * from its /metrics, idle and peak while rolling. The controller runs with the Node flags of the
 * Dockerfile's ENTRYPOINT (BENCH_NODE_FLAGS="" for none). Env: BENCH_ASGS (10), BENCH_SIZE (10),
 * BENCH_BOOT_MS (10000), BENCH_MAX_UNAVAILABLE (2), BENCH_LOG_LEVEL (warn: the controller's log). Run: pnpm --filter @keiko/upgrade-manager bench
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  ModifyLaunchTemplateCommand,
} from '@aws-sdk/client-ec2';
import { AwsClients } from '@keiko/aws-kit';
import { KubeClient, type KubeObject, Reflector } from '@keiko/operator-kit';
import {
  ControlPlane,
  createTestAwsAccount,
  freePort,
  installCrds,
  MotoServer,
  NodeSimulator,
  waitFor,
} from '@keiko/testkit';

const ASGS = Number(process.env.BENCH_ASGS ?? 10);
const SIZE = Number(process.env.BENCH_SIZE ?? 10);
const BOOT_MS = Number(process.env.BENCH_BOOT_MS ?? 10_000);
const MAX_UNAVAILABLE = Number(process.env.BENCH_MAX_UNAVAILABLE ?? 2);
const RU = {
  group: 'upgrademgr.keikoproj.io',
  version: 'v1alpha1',
  plural: 'rollingupgrades',
  kind: 'RollingUpgrade',
  namespaced: true,
};

type NodeLike = KubeObject & {
  spec?: { providerID?: string; unschedulable?: boolean };
  status?: { conditions?: { type: string; status: string }[] };
};
const NODES = { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false };

const [cp, moto] = await Promise.all([ControlPlane.start(), MotoServer.start()]);
let sim: NodeSimulator | undefined;
let child: ReturnType<typeof spawn> | undefined;
try {
  const kc = cp.kubeConfig();
  await installCrds(
    kc,
    new URL(
      '../../../deploy/charts/upgrade-manager/crds/upgrademgr.keikoproj.io_rollingupgrades.yaml',
      import.meta.url,
    ).pathname,
  );
  const account = await createTestAwsAccount({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    clusterName: 'bench',
  });
  const aws = await AwsClients.create({
    region: account.region,
    endpoint: moto.endpoint,
    credentials: account.credentials,
  });
  sim = await NodeSimulator.start({
    kubeConfig: kc,
    endpoint: moto.endpoint,
    accountId: account.accountId,
    region: account.region,
    clusterName: account.clusterName,
    bootDelayMs: BOOT_MS,
    pollIntervalMs: 250,
    concurrency: 32,
  });
  const ltIds: string[] = [];
  for (let a = 0; a < ASGS; a++) {
    const lt = await aws.ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: `bench-${a}`,
        LaunchTemplateData: { ImageId: account.amis.al2023, InstanceType: 'm5.large' },
      }),
    );
    ltIds.push(lt.LaunchTemplate!.LaunchTemplateId!);
    await aws.autoScaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: `bench-${a}`,
        LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId!, Version: '$Latest' },
        MinSize: 0,
        MaxSize: SIZE * 2,
        DesiredCapacity: SIZE,
        VPCZoneIdentifier: account.subnets.map((s) => s.subnetId).join(','),
        Tags: [{ Key: account.clusterTagKey, Value: 'owned', PropagateAtLaunch: true }],
      }),
    );
  }
  const client = await KubeClient.fromKubeConfig(kc, 'bench');
  const readyCount = async () =>
    (
      await client.list<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>({
        group: '',
        version: 'v1',
        plural: 'nodes',
        kind: 'Node',
        namespaced: false,
      })
    ).items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .length;
  await waitFor(async () => (await readyCount()) === ASGS * SIZE, {
    timeoutMs: 300_000,
    intervalMs: 500,
    description: 'all nodes Ready',
  });
  console.log(`${ASGS * SIZE} nodes Ready; boot delay ${BOOT_MS} ms`);

  // The floor of one batch, measured on this machine before the controller starts: terminate
  // maxUnavailable instances of one group at once, as a controller with zero overhead would, and time
  // until their replacements are Ready Nodes. It is the boot delay plus what the emulator, the node
  // simulator and kwok add (polling, registration, the Ready transition), which no controller can beat.
  const providerIds = async () =>
    new Set(
      (
        await client.list<KubeObject & { spec?: { providerID?: string } }>({
          group: '',
          version: 'v1',
          plural: 'nodes',
          kind: 'Node',
          namespaced: false,
        })
      ).items.map((n) => n.spec?.providerID?.split('/').pop()),
    );
  const floorSamples: number[] = [];
  for (let round = 0; round < 3; round++) {
    const group = await aws.autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['bench-0'] }),
    );
    const victims = group
      .AutoScalingGroups![0]!.Instances!.slice(0, MAX_UNAVAILABLE)
      .map((i) => i.InstanceId!);
    const started = Date.now();
    // One after the other: moto serves requests on threads, and two concurrent terminations in one
    // group can both launch a replacement for the same shortfall (AWS does not).
    for (const InstanceId of victims) {
      await aws.autoScaling.send(
        new TerminateInstanceInAutoScalingGroupCommand({ InstanceId, ShouldDecrementDesiredCapacity: false }),
      );
    }
    await waitFor(
      async () => {
        const ids = await providerIds();
        return victims.every((v) => !ids.has(v)) && (await readyCount()) === ASGS * SIZE;
      },
      { timeoutMs: 120_000, intervalMs: 100, description: 'the calibration replacements to be Ready' },
    );
    floorSamples.push(Date.now() - started);
  }
  const batchFloorMs = [...floorSamples].sort((a, b) => a - b)[1]!;
  console.log(
    `batch floor         ${(batchFloorMs / 1000).toFixed(2)} s (median of ${floorSamples.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s: terminate ${MAX_UNAVAILABLE} -> replacements Ready, no controller)`,
  );
  // The same with every group at once, as the rolls run: maxUnavailable terminations in each group
  // at the same instant (groups in parallel), until all their replacements are Ready. It adds what
  // one emulator process and one simulator cost when ten groups act together, still without a
  // controller.
  const concurrentSamples: number[] = [];
  for (let round = 0; round < 3; round++) {
    const groups = await aws.autoScaling.send(
      new DescribeAutoScalingGroupsCommand({
        AutoScalingGroupNames: Array.from({ length: ASGS }, (_, a) => `bench-${a}`),
      }),
    );
    const victimsByGroup = groups.AutoScalingGroups!.map((g) =>
      g.Instances!.slice(0, MAX_UNAVAILABLE).map((i) => i.InstanceId!),
    );
    const started = Date.now();
    await Promise.all(
      victimsByGroup.map(async (victims) => {
        for (const InstanceId of victims) {
          await aws.autoScaling.send(
            new TerminateInstanceInAutoScalingGroupCommand({
              InstanceId,
              ShouldDecrementDesiredCapacity: false,
            }),
          );
        }
      }),
    );
    const all = victimsByGroup.flat();
    await waitFor(
      async () => {
        const ids = await providerIds();
        return all.every((v) => !ids.has(v)) && (await readyCount()) === ASGS * SIZE;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 100,
        description: 'the concurrent calibration replacements to be Ready',
      },
    );
    concurrentSamples.push(Date.now() - started);
  }
  const concurrentFloorMs = [...concurrentSamples].sort((a, b) => a - b)[1]!;
  console.log(
    `concurrent floor    ${(concurrentFloorMs / 1000).toFixed(2)} s (median of ${concurrentSamples.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s: the same in all ${ASGS} groups at once)`,
  );
  for (const id of ltIds) {
    const v = await aws.ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: id,
        LaunchTemplateData: { ImageId: account.amis.al2023, InstanceType: 'm5.large' },
      }),
    );
    await aws.ec2.send(
      new ModifyLaunchTemplateCommand({
        LaunchTemplateId: id,
        DefaultVersion: String(v.LaunchTemplateVersion!.VersionNumber),
      }),
    );
  }

  const opsPort = await freePort();
  // The Node flags the image runs the controller with (Dockerfile ENTRYPOINT); BENCH_NODE_FLAGS overrides.
  const entrypoint = JSON.parse(
    /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8'))![1]!,
  ) as string[];
  const nodeFlags =
    process.env.BENCH_NODE_FLAGS !== undefined
      ? process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean)
      : entrypoint.filter((a) => a.startsWith('--'));
  console.log(`controller: node ${[...nodeFlags, 'dist/main.js'].join(' ')}`);
  child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      new URL('../dist/main.js', import.meta.url).pathname,
      `--ops-port=${opsPort}`,
      '--leader-elect=false',
      // The shipped default period (5 s) unless BENCH_REQUEUE_SECONDS says otherwise.
      ...(process.env.BENCH_REQUEUE_SECONDS
        ? [`--requeue-seconds=${process.env.BENCH_REQUEUE_SECONDS}`]
        : []),
      `--log-level=${process.env.BENCH_LOG_LEVEL ?? 'warn'}`,
    ],
    {
      env: {
        PATH: process.env.PATH,
        KUBECONFIG: cp.kubeconfigPath,
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_REGION: account.region,
        AWS_ACCESS_KEY_ID: account.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: account.credentials.secretAccessKey,
        ...(account.credentials.sessionToken ? { AWS_SESSION_TOKEN: account.credentials.sessionToken } : {}),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  await waitFor(async () => (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).ok, {
    timeoutMs: 30_000,
    description: 'controller ready',
  });

  // A timeline to the millisecond, from watches in this process: when each node was first seen
  // cordoned and Ready, and when each roll was first seen completed. With each group's members before
  // and after, it splits every batch into "reaction" (the previous batch's last replacement Ready ->
  // this batch's first cordon: the controller's share) and "batch" (first cordon -> last replacement
  // Ready: drain, terminate, the emulator, boot, registration).
  const membersBefore = await groupMembers(aws, ASGS);
  const cordonedAt = new Map<string, number>();
  const readyAt = new Map<string, number>();
  const completedAt = new Map<string, number>();
  // operator-kit's Reflector (list + watch, as the controllers use it) calls these on every change.
  const nodeWatch = new Reflector<NodeLike>(client, NODES);
  const rollWatch = new Reflector<KubeObject & { status?: { currentStatus?: string } }>(client, RU);
  const seenNode = (node: NodeLike) => {
    const id = node.spec?.providerID?.split('/').pop();
    if (!id) return;
    if (node.spec?.unschedulable && !cordonedAt.has(id)) cordonedAt.set(id, Date.now());
    const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (ready && !readyAt.has(id)) readyAt.set(id, Date.now());
  };
  nodeWatch.addHandler({ add: seenNode, update: (_, node) => seenNode(node) });
  const seenRoll = (ru: KubeObject & { status?: { currentStatus?: string } }) => {
    if (ru.status?.currentStatus === 'completed' && !completedAt.has(ru.metadata.name!))
      completedAt.set(ru.metadata.name!, Date.now());
  };
  rollWatch.addHandler({ add: seenRoll, update: (_, ru) => seenRoll(ru) });
  nodeWatch.start();
  rollWatch.start();
  await Promise.all([nodeWatch.waitForSync(), rollWatch.waitForSync()]);
  const t0 = Date.now();
  for (let a = 0; a < ASGS; a++) {
    await client.create(RU, {
      apiVersion: 'upgrademgr.keikoproj.io/v1alpha1',
      kind: 'RollingUpgrade',
      metadata: { name: `bench-${a}`, namespace: 'default' },
      spec: { asgName: `bench-${a}`, strategy: { mode: 'lazy', maxUnavailable: MAX_UNAVAILABLE } },
    });
  }
  let peakRss = 0;
  // Heap vs RSS, from the controller's own /metrics (prom-client default metrics), every 2 s.
  const memory = { heapUsed: 0, heapTotal: 0, rss: 0, external: 0, samples: 0 };
  const gauge = (text: string, name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  const sampleMemory = async () => {
    try {
      const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
      memory.heapUsed = Math.max(memory.heapUsed, gauge(text, 'nodejs_heap_size_used_bytes'));
      memory.heapTotal = Math.max(memory.heapTotal, gauge(text, 'nodejs_heap_size_total_bytes'));
      memory.external = Math.max(memory.external, gauge(text, 'nodejs_external_memory_bytes'));
      memory.rss = Math.max(memory.rss, gauge(text, 'process_resident_memory_bytes'));
      memory.samples++;
    } catch {
      // a missed sample
    }
  };
  await sampleMemory();
  const idle = { ...memory };
  const memoryTimer = setInterval(sampleMemory, 2000);
  await waitFor(
    async () => {
      const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child!.pid}/status`, 'utf8'))?.[1] ?? 0);
      peakRss = Math.max(peakRss, kb);
      const list = await client.list<KubeObject & { status?: { currentStatus?: string } }>(RU, {
        namespace: 'default',
      });
      if (list.items.some((r) => r.status?.currentStatus === 'error')) throw new Error('a roll failed');
      return list.items.length === ASGS && list.items.every((r) => r.status?.currentStatus === 'completed');
    },
    { timeoutMs: 1_800_000, intervalMs: 500, description: 'every roll to complete' },
  );
  const totalMs = Date.now() - t0;
  // Where the time went, from each roll's own status (times to the second): when each batch's
  // terminate calls were made, and when the roll ended.
  type Timed = KubeObject & {
    status?: { endTime?: string; instances?: { terminationTime?: string }[] };
  };
  const firstBatch: number[] = [];
  const batchGaps: number[] = [];
  const lastToEnd: number[] = [];
  for (const r of (await client.list<Timed>(RU, { namespace: 'default' })).items) {
    const times = (r.status?.instances ?? [])
      .map((i) => (i.terminationTime ? Date.parse(i.terminationTime) : Number.NaN))
      .filter((t) => Number.isFinite(t))
      .sort((a, b) => a - b);
    const starts: number[] = [];
    for (const t of times) if (starts.length === 0 || t - starts[starts.length - 1]! > 3_000) starts.push(t);
    if (starts.length === 0 || !r.status?.endTime) continue;
    firstBatch.push(starts[0]! - t0);
    for (let k = 1; k < starts.length; k++) batchGaps.push(starts[k]! - starts[k - 1]!);
    lastToEnd.push(Date.parse(r.status.endTime) - starts[starts.length - 1]!);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length) / 1000;
  await Promise.all([nodeWatch.stop(), rollWatch.stop()]);
  const membersAfter = await groupMembers(aws, ASGS);
  const terminatedAt = new Map<string, number[]>();
  const events = await client.list<
    KubeObject & { reason?: string; eventTime?: string; regarding?: { name?: string } }
  >(
    { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
    { namespace: 'default' },
  );
  for (const e of events.items) {
    if (e.reason !== 'RollingUpgradeInstanceFinished' || !e.eventTime || !e.regarding?.name) continue;
    const list = terminatedAt.get(e.regarding.name) ?? [];
    list.push(Date.parse(e.eventTime));
    terminatedAt.set(e.regarding.name, list);
  }
  if (process.env.BENCH_DUMP) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      process.env.BENCH_DUMP,
      JSON.stringify({
        t0,
        before: Object.fromEntries(membersBefore),
        after: Object.fromEntries(membersAfter),
        cordonedAt: Object.fromEntries(cordonedAt),
        readyAt: Object.fromEntries(readyAt),
        terminatedAt: Object.fromEntries(terminatedAt),
        completedAt: Object.fromEntries(completedAt),
      }),
    );
  }
  const timeline = splitTimeline(
    membersBefore,
    membersAfter,
    cordonedAt,
    readyAt,
    terminatedAt,
    completedAt,
    t0,
    MAX_UNAVAILABLE,
  );
  clearInterval(memoryTimer);
  await sampleMemory();
  const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  const calls = metrics
    .split('\n')
    .filter((l) => l.startsWith('aws_api_calls_total{'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  const rotated = metrics
    .split('\n')
    .filter((l) => l.startsWith('upgrade_manager_nodes_rotated_total{'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  const lowerBoundMs = Math.ceil(SIZE / MAX_UNAVAILABLE) * BOOT_MS;
  console.log(
    `rolled ${rotated} nodes across ${ASGS} ASGs (maxUnavailable ${MAX_UNAVAILABLE}, boot ${BOOT_MS} ms)`,
  );
  console.log(`total time          ${(totalMs / 1000).toFixed(1)} s`);
  console.log(
    `lower bound         ${(lowerBoundMs / 1000).toFixed(1)} s  (ceil(${SIZE}/${MAX_UNAVAILABLE}) batches x boot delay; ASGs in parallel)`,
  );
  console.log(`over lower bound    ${(((totalMs - lowerBoundMs) / lowerBoundMs) * 100).toFixed(1)} %`);
  console.log(
    `where it went        first terminations ${mean(firstBatch).toFixed(1)} s after the CRs; batch to batch ${mean(batchGaps).toFixed(1)} s (floor ${(batchFloorMs / 1000).toFixed(1)} s); last terminations to completed ${mean(lastToEnd).toFixed(1)} s (means over ${firstBatch.length} rolls, times to the second)`,
  );
  const ms = (xs: number[]) =>
    xs.length
      ? `mean ${mean(xs).toFixed(2)} s, max ${(Math.max(...xs) / 1000).toFixed(2)} s (${xs.length})`
      : 'none';
  console.log('timeline per group, first in first out (watches in this process, event times):');
  console.log(`  CRs -> first cordon                               ${ms(timeline.first)}`);
  console.log(`  reaction: a replacement Ready -> the next cordon  ${ms(timeline.reaction)}`);
  console.log(`  drain: cordon -> terminate call recorded          ${ms(timeline.drain)}`);
  console.log(`  replacement: terminate -> replacement Ready       ${ms(timeline.replacement)}`);
  console.log(`  completion: last replacement Ready -> completed   ${ms(timeline.completion)}`);
  const floorBoundMs = Math.ceil(SIZE / MAX_UNAVAILABLE) * batchFloorMs;
  console.log(
    `measured floor      ${(floorBoundMs / 1000).toFixed(1)} s  (ceil(${SIZE}/${MAX_UNAVAILABLE}) batches x batch floor); over it ${(((totalMs - floorBoundMs) / floorBoundMs) * 100).toFixed(1)} %`,
  );
  const concurrentBoundMs = Math.ceil(SIZE / MAX_UNAVAILABLE) * concurrentFloorMs;
  console.log(
    `concurrent floor x5 ${(concurrentBoundMs / 1000).toFixed(1)} s  (ceil(${SIZE}/${MAX_UNAVAILABLE}) batches x concurrent floor); over it ${(((totalMs - concurrentBoundMs) / concurrentBoundMs) * 100).toFixed(1)} %`,
  );
  console.log(
    `AWS calls           ${calls} (${(calls / Math.max(1, rotated)).toFixed(2)} per replaced node)`,
  );
  // Each operation's calls and their mean duration as the controller saw it (queueing in moto included).
  const sample = (name: string, labels: string) =>
    Number(
      metrics
        .split('\n')
        .find((x) => x.startsWith(`${name}{`) && x.includes(labels))
        ?.split(' ')
        .pop() ?? Number.NaN,
    );
  for (const l of metrics.split('\n').filter((x) => x.startsWith('aws_api_calls_total{'))) {
    const op = /service="[^"]+",operation="[^"]+"/.exec(l)?.[0] ?? '';
    const meanMs =
      (1000 * sample('aws_api_call_duration_seconds_sum', op)) /
      sample('aws_api_call_duration_seconds_count', op);
    console.log(`  ${l}  (mean ${meanMs.toFixed(0)} ms)`);
  }
  console.log(`controller peak RSS ${(peakRss / 1024).toFixed(0)} MB (VmHWM)`);
  const cpu = Number(/^process_cpu_seconds_total (\S+)/m.exec(metrics)?.[1] ?? Number.NaN);
  console.log(
    `controller CPU      ${cpu.toFixed(1)} s over its life (${((cpu / (totalMs / 1000)) * 100).toFixed(0)} % of a core during the roll, start-up included)`,
  );
  const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
  console.log(
    `  at start (idle)   RSS ${mb(idle.rss)}, heap used ${mb(idle.heapUsed)} of ${mb(idle.heapTotal)}, external ${mb(idle.external)}`,
  );
  console.log(
    `  peak while rolling RSS ${mb(memory.rss)}, heap used ${mb(memory.heapUsed)} of ${mb(memory.heapTotal)}, external ${mb(memory.external)} (${memory.samples} samples of /metrics)`,
  );
} finally {
  child?.kill('SIGTERM');
  await sim?.stop();
  await Promise.all([cp.stop(), moto.stop()]);
}

/** Instance ids of each bench group, by group name. */
async function groupMembers(aws: AwsClients, groups: number): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const names = Array.from({ length: groups }, (_, a) => `bench-${a}`);
  const found = await aws.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: names }),
  );
  for (const g of found.AutoScalingGroups ?? [])
    out.set(
      g.AutoScalingGroupName!,
      (g.Instances ?? []).map((i) => i.InstanceId!),
    );
  return out;
}

/**
 * Per group, first in first out: the i-th cordon, the i-th terminate call (the controller's
 * `RollingUpgradeInstanceFinished` event, eventTime in microseconds) and the i-th replacement Ready.
 * With maxUnavailable m, the (i+m)-th cordon waits for the i-th replacement: that gap is the
 * controller's reaction. Cordon -> terminate is its drain and bookkeeping; terminate -> Ready is the
 * emulator, the node simulator, the boot delay and kwok (what the batch floor measures).
 */
function splitTimeline(
  before: Map<string, string[]>,
  after: Map<string, string[]>,
  cordonedAt: Map<string, number>,
  readyAt: Map<string, number>,
  terminatedAt: Map<string, number[]>,
  completedAt: Map<string, number>,
  t0: number,
  m: number,
): Record<'first' | 'reaction' | 'drain' | 'replacement' | 'completion', number[]> {
  const out = {
    first: [] as number[],
    reaction: [] as number[],
    drain: [] as number[],
    replacement: [] as number[],
    completion: [] as number[],
  };
  for (const [group, old] of before) {
    const sorted = (xs: (number | undefined)[]) =>
      xs.filter((t): t is number => t !== undefined).sort((a, b) => a - b);
    const cordons = sorted(old.map((id) => cordonedAt.get(id)));
    const oldIds = new Set(old);
    const readies = sorted(
      (after.get(group) ?? []).filter((id) => !oldIds.has(id)).map((id) => readyAt.get(id)),
    );
    const terms = sorted(terminatedAt.get(group) ?? []);
    if (cordons.length === 0) continue;
    out.first.push(cordons[0]! - t0);
    for (let i = 0; i < cordons.length; i++) {
      if (terms[i] !== undefined) out.drain.push(terms[i]! - cordons[i]!);
      if (terms[i] !== undefined && readies[i] !== undefined) out.replacement.push(readies[i]! - terms[i]!);
      if (readies[i] !== undefined && cordons[i + m] !== undefined)
        out.reaction.push(cordons[i + m]! - readies[i]!);
    }
    const lastReady = readies[readies.length - 1];
    if (lastReady !== undefined && completedAt.has(group))
      out.completion.push(completedAt.get(group)! - lastReady);
  }
  return out;
}
