/**
 * Benchmark (not a test): the node simulator bringing 1,000 ASG instances up as Ready Nodes.
 * Starts its own control plane and moto, creates an ASG through aws-kit, raises desired capacity
 * to N (default 1,000; `BENCH_INSTANCES`), and measures until N Nodes are Ready. Prints times and
 * the AWS calls aws-kit made. Run: pnpm --filter @keiko/aws-kit bench:nodes
 */
import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand } from '@aws-sdk/client-ec2';
import { ControlPlane, createTestAwsAccount, MotoServer, NodeSimulator, waitFor } from '@keiko/testkit';
import { CoreV1Api } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { AutoScalingGroups, AwsClients } from '../dist/index.js';

const N = Number(process.env.BENCH_INSTANCES ?? 1000);
const ms = (t0: number) => Date.now() - t0;

const t0 = Date.now();
const [cp, moto] = await Promise.all([ControlPlane.start(), MotoServer.start()]);
console.log(`control plane + moto up in ${ms(t0)} ms`);
let sim: NodeSimulator | undefined;
try {
  const account = await createTestAwsAccount({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    clusterName: 'bench',
  });
  const registry = new Registry();
  const aws = await AwsClients.create({
    region: account.region,
    endpoint: moto.endpoint,
    credentials: account.credentials,
    registry,
  });
  const kc = cp.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  sim = await NodeSimulator.start({
    kubeConfig: kc,
    endpoint: moto.endpoint,
    accountId: account.accountId,
    region: account.region,
    clusterName: account.clusterName,
    pollIntervalMs: 250,
    concurrency: 32,
  });
  const lt = await aws.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: 'bench',
      LaunchTemplateData: {
        ImageId: account.amis.al2023,
        InstanceType: 'm5.large',
        UserData: Buffer.from("--kubelet-extra-args '--node-labels=pool=bench'").toString('base64'),
      },
    }),
  );
  await aws.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: 'bench',
      LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId!, Version: '$Latest' },
      MinSize: 0,
      MaxSize: N,
      DesiredCapacity: 0,
      VPCZoneIdentifier: account.subnets.map((s) => s.subnetId).join(','),
      Tags: [{ Key: account.clusterTagKey, Value: 'owned', PropagateAtLaunch: true }],
    }),
  );

  const tScale = Date.now();
  await new AutoScalingGroups(aws).setDesiredCapacity('bench', N);
  const scaleMs = ms(tScale);
  console.log(`SetDesiredCapacity(${N}) returned in ${scaleMs} ms (moto launches synchronously)`);

  let created = 0;
  await waitFor(
    async () => {
      created = sim!.stats.nodesCreated;
      return created >= N;
    },
    { description: `${N} Nodes created`, timeoutMs: 600_000, intervalMs: 200 },
  );
  const createdMs = ms(tScale);
  console.log(`${N} Nodes created ${createdMs} ms after the scale-up`);
  await waitFor(
    async () => {
      const list = await core.listNode({ labelSelector: 'testkit.keiko.dev/simulated-cluster=bench' });
      const ready = list.items.filter((n) =>
        n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return ready.length >= N;
    },
    { description: `${N} Ready Nodes`, timeoutMs: 600_000, intervalMs: 1_000 },
  );
  const readyMs = ms(tScale);
  const calls = (await registry.getSingleMetric('aws_api_calls_total')!.get()).values;
  const total = calls.reduce((s, v) => s + v.value, 0);
  console.log(`${N} Nodes Ready ${readyMs} ms after the scale-up`);
  console.log(`node simulator: ${sim.stats.polls} polls of the emulator, ${sim.stats.errors} failed passes`);
  console.log(`aws-kit AWS calls: ${total}`);
  for (const v of calls)
    console.log(`  ${v.labels.service} ${v.labels.operation} ${v.labels.result}: ${v.value}`);
  aws.destroy();
} finally {
  await sim?.stop();
  await Promise.all([cp.stop(), moto.stop()]);
}
