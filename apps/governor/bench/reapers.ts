/**
 * Benchmark (not a test): one node-reaper run over 2,000 nodes and one pod-reaper run over 30,000 pods,
 * every object created in a real API server (own control plane, no kwok/scheduler/KCM so nothing else
 * moves), the 2,000 instances in moto behind one ASG. Each run happens in a child process
 * (dist/bench-run.js) so its peak RSS is its own. Prints time, Kubernetes requests, AWS calls, peak RSS.
 *
 * Fixtures: 20 nodes Unknown for an hour (no pods, so their drain is immediate), 10 ghost nodes whose
 * instance EC2 does not know; 30,000 pods over 30 namespaces, 100 of them stuck Terminating with a
 * finalizer on a node that is gone.
 *
 * Run: pnpm --filter @keiko/governor bench   (BENCH_NODES, BENCH_PODS to change the sizes)
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand } from '@aws-sdk/client-ec2';
import { AutoScalingGroups, AwsClients, Ec2 } from '@keiko/aws-kit';
import { KubeClient } from '@keiko/operator-kit';
import { ControlPlane, createTestAwsAccount, MotoServer } from '@keiko/testkit';
import { type Node, type Pod, Resources } from '../src/kube.js';

const NODES = Number(process.env.BENCH_NODES ?? 2000);
const PODS = Number(process.env.BENCH_PODS ?? 30000);
const SICK = 20;
const GHOSTS = 10;
const STUCK = 100;
const NAMESPACES = 30;
const here = dirname(fileURLToPath(import.meta.url));

async function limited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

const t0 = Date.now();
const [cp, moto] = await Promise.all([
  ControlPlane.start({ kwok: false, scheduler: false, controllerManager: false }),
  MotoServer.start(),
]);
console.log(`control plane + moto up in ${Date.now() - t0} ms`);
try {
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
  const kc = cp.kubeConfig();
  const client = await KubeClient.fromKubeConfig(kc, 'bench-setup');

  // 2,000 instances behind one ASG.
  const lt = await aws.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: 'bench',
      LaunchTemplateData: { ImageId: account.amis.al2023, InstanceType: 'm5.large' },
    }),
  );
  await aws.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: 'bench',
      LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId!, Version: '$Latest' },
      MinSize: 0,
      MaxSize: NODES,
      DesiredCapacity: NODES - GHOSTS,
      VPCZoneIdentifier: account.subnets.map((s) => s.subnetId).join(','),
    }),
  );
  const group = await new AutoScalingGroups(aws).get('bench', { ttlMs: 0 });
  const instances = await new Ec2(aws).instances(group!.Instances!.map((i) => i.InstanceId!));
  console.log(`${instances.length} instances in moto (${Date.now() - t0} ms)`);

  // Nodes: one per instance plus the ghosts; Ready except the sick ones (status set through the API).
  const now = Date.now();
  const hourAgo = new Date(now - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const fresh = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
  const specs = [
    ...instances.map((i) => ({
      name: i.PrivateDnsName!,
      providerID: `aws:///${i.Placement!.AvailabilityZone}/${i.InstanceId}`,
    })),
    ...Array.from({ length: GHOSTS }, (_, g) => ({
      name: `ghost-${g}.ec2.internal`,
      providerID: `aws:///us-east-1a/i-0${String(g).padStart(16, '0')}`,
    })),
  ];
  await limited([...specs.entries()], 32, async ([index, s]) => {
    const sick = index < SICK;
    await client.create<Node>(Resources.nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: s.name,
        labels: { 'topology.kubernetes.io/region': 'us-east-1', 'kubernetes.io/hostname': s.name },
      },
      spec: { providerID: s.providerID },
    });
    await client.patch(
      Resources.nodes,
      s.name,
      undefined,
      {
        status: {
          conditions: [
            sick
              ? {
                  type: 'Ready',
                  status: 'Unknown',
                  reason: 'NodeStatusUnknown',
                  lastHeartbeatTime: hourAgo,
                  lastTransitionTime: hourAgo,
                }
              : {
                  type: 'Ready',
                  status: 'True',
                  reason: 'KubeletReady',
                  lastHeartbeatTime: fresh,
                  lastTransitionTime: hourAgo,
                },
          ],
        },
      },
      'strategic',
      'status',
    );
  });
  console.log(`${specs.length} nodes created (${Date.now() - t0} ms)`);

  // Pods over the healthy nodes; STUCK of them bound to a gone node, with a finalizer, then deleted.
  const healthy = specs.slice(SICK, specs.length - GHOSTS).map((s) => s.name);
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-${i}`);
  await limited(namespaces, 8, (name) =>
    client.create(Resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
  );
  await limited(
    Array.from({ length: PODS }, (_, i) => i),
    48,
    async (i) => {
      const stuck = i < STUCK;
      const namespace = namespaces[i % NAMESPACES]!;
      const name = `pod-${i}`;
      await client.create<Pod>(Resources.pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          namespace,
          labels: { app: `app-${i % 500}` },
          ...(stuck ? { finalizers: ['bench.keiko.dev/never'] } : {}),
        },
        spec: {
          nodeName: stuck ? 'gone.ec2.internal' : healthy[i % healthy.length]!,
          containers: [{ name: 'app', image: 'app' }],
        },
      } as Pod);
      if (stuck) await client.delete(Resources.pods, name, namespace);
    },
  );
  console.log(`${PODS} pods created, ${STUCK} stuck Terminating (${Date.now() - t0} ms)`);
  client.transport.close();

  const kubeconfig = join(tmpdir(), `governor-bench-${process.pid}.kubeconfig`);
  writeFileSync(kubeconfig, kc.exportConfig());
  const env = { ...process.env, ...account.env(), KUBECONFIG: kubeconfig };
  // The image runs node with the heap flags of the Dockerfile; measure under those.
  const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '--max-old-space-size=128').split(' ').filter(Boolean);
  const runOne = async (args: string[]) => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [...nodeFlags, join(here, 'bench-run.js'), ...args],
      { env, maxBuffer: 16 << 20 },
    );
    return JSON.parse(stdout.trim().split('\n').pop()!);
  };
  console.log(`child node flags: ${nodeFlags.join(' ') || '(none)'}`);
  // A dry run first (reads only), then the real run that acts.
  for (const dryRun of [true, false]) {
    const extra = dryRun ? ['--dry-run'] : [];
    const node = await runOne([
      'node',
      '15',
      '--region=us-east-1',
      '--lock-namespace=default',
      '--max-kill-percent=100',
      ...extra,
    ]);
    console.log(`node-reaper${dryRun ? ' --dry-run' : ''}:`, JSON.stringify(node));
    const pod = await runOne(['pod', '15', '--lock-namespace=default', ...extra]);
    console.log(`pod-reaper${dryRun ? ' --dry-run' : ''}:`, JSON.stringify(pod));
  }
  console.log(
    `machine: ${(await import('node:os')).cpus().length} x ${(await import('node:os')).cpus()[0]?.model}, Node ${process.version}`,
  );
  aws.destroy();
} finally {
  await Promise.all([cp.stop(), moto.stop()]);
}
