/**
 * Restarts lose nothing: the controller is stopped after it created the capture Job; while it is
 * down the worker runs (in-process, fake CRI over a node fixture, moto S3: see controller.test.ts for
 * why), reports into the request's status and exits, and the Job completes. A new controller process
 * picks the request up from the API alone: same Job (no second one), same S3 directory, Succeeded.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { AwsClients } from '@keiko/aws-kit';
import { CoreResources, type KubeClient, silentLogger } from '@keiko/operator-kit';
import { createTestNamespace, testKubeConfig, waitFor } from '@keiko/testkit';
import { type JobObject, LABELS, WORKER_CONTAINER } from '../src/checkpoint/job.js';
import { Jobs } from '../src/controller/resources.js';
import { runCapture } from '../src/worker/capture.js';
import { parseWorkerEnv } from '../src/worker/config.js';
import { statusReporter } from '../src/worker/report.js';
import { s3Uploader } from '../src/worker/upload.js';
import { FakeRuntime } from './fake-runtime.js';
import { nodeFixture, removeNodeFixtures } from './fixture.js';
import {
  createBucket,
  createCheckpoint,
  createNode,
  createPod,
  createWorkerServiceAccount,
  eventually,
  getCheckpoint,
  kubeClient,
  listKeys,
  s3Clients,
  setPodStatus,
  startController,
} from './support.js';

let client: KubeClient;
let aws: AwsClients;
let namespace: string;
let node: string;

beforeAll(async () => {
  client = await kubeClient();
  aws = await s3Clients();
  namespace = await createTestNamespace(testKubeConfig(), 'kf-restart');
  await createWorkerServiceAccount(client, namespace);
  node = await createNode(client, { kwok: false });
});
afterAll(async () => {
  await client.delete(CoreResources.nodes, node);
  removeNodeFixtures();
  aws.destroy();
  client.transport.close();
});

test('a controller stopped mid-capture is replaced by a new one that finishes the request without a second Job', async () => {
  const pod = await createPod(client, namespace, 'svc-0', node, { containers: ['app'] });
  await setPodStatus(client, pod, { phase: 'Running' }, { app: 'app-svc-0' });
  const ref = { namespace, name: 'svc-0', uid: pod.metadata.uid! };
  const hostRoot = nodeFixture(ref, [{ name: 'app', pid: 900 }]);
  const bucket = await createBucket(aws);

  const first = await startController({ namespace, workerNamespace: namespace });
  const cp = await createCheckpoint(client, namespace, 'cp-restart', {
    pod: 'svc-0',
    destination: `s3://${bucket}/ir`,
  });
  const jobsOf = async () =>
    (
      await client.list<JobObject>(Jobs, {
        namespace,
        labelSelector: `${LABELS.checkpointUid}=${cp.metadata.uid}`,
      })
    ).items;
  await waitFor(
    async () => (await getCheckpoint(client, namespace, 'cp-restart')).status?.phase === 'Scheduled',
    {
      timeoutMs: 30_000,
      description: 'Scheduled',
    },
  );
  const before = await getCheckpoint(client, namespace, 'cp-restart');
  const [job] = await jobsOf();
  await first.stop();

  // While no controller runs: the Job's pod starts, the worker captures and reports, the pod exits 0.
  const jobPod = await eventually(
    async () =>
      (await client.list(CoreResources.pods, { namespace, labelSelector: `job-name=${job!.metadata.name}` }))
        .items[0],
    'Job pod',
  );
  await setPodStatus(client, jobPod, { phase: 'Running' });
  const env = Object.fromEntries(
    (jobPod.spec as { containers: { name: string; env: { name: string; value: string }[] }[] }).containers
      .find((c) => c.name === WORKER_CONTAINER)!
      .env.map((e) => [e.name, e.value]),
  );
  const config = parseWorkerEnv({ ...env, HOST_ROOT: hostRoot });
  const outcome = await runCapture(config, {
    runtime: new FakeRuntime([{ ...ref, id: 'sb' }], [{ id: 'app-svc-0', pid: 900 }]),
    upload: s3Uploader(aws, config.bucket),
    report: statusReporter(client, config.checkpoint),
    client,
    log: silentLogger(),
    bytesUploaded: () => 0,
  });
  expect(outcome.exitCode).toBe(0);
  await setPodStatus(client, jobPod, { phase: 'Succeeded', exitCode: 0 });
  await waitFor(
    async () =>
      (await client.get<JobObject>(Jobs, job!.metadata.name!, namespace)).status?.conditions?.some(
        (c) => c.type === 'Complete',
      ) ?? false,
    {
      timeoutMs: 30_000,
      description: 'Job Complete',
    },
  );
  // Nobody moved the phase while the controller was down.
  expect((await getCheckpoint(client, namespace, 'cp-restart')).status?.phase).toBe('Scheduled');

  const second = await startController({ namespace, workerNamespace: namespace });
  try {
    await waitFor(
      async () => (await getCheckpoint(client, namespace, 'cp-restart')).status?.phase === 'Succeeded',
      {
        timeoutMs: 30_000,
        description: 'Succeeded after the restart',
      },
    );
    const after = await getCheckpoint(client, namespace, 'cp-restart');
    const jobs = await jobsOf();
    expect(jobs.map((j) => j.metadata.uid)).toEqual([job!.metadata.uid]);
    expect(after.status).toMatchObject({
      location: before.status!.location,
      startTime: before.status!.startTime,
      jobName: job!.metadata.name,
    });
    expect(await listKeys(aws, bucket)).toContain(after.status!.worker!.manifestKey);
    expect(
      after.status!.worker!.manifestKey!.startsWith(before.status!.location!.replace(`s3://${bucket}/`, '')),
    ).toBe(true);
  } finally {
    await second.stop();
  }
});

test('a capture Job deleted while no controller ran (e.g. by its TTL) is never re-created: the request ends on the worker report', async () => {
  const pod = await createPod(client, namespace, 'ttl-0', node, { containers: ['app'] });
  await setPodStatus(client, pod, { phase: 'Running' }, { app: 'app-ttl-0' });
  const first = await startController({ namespace, workerNamespace: namespace });
  const cp = await createCheckpoint(client, namespace, 'cp-ttl', {
    pod: 'ttl-0',
    destination: 's3://kf-evidence-ttl',
  });
  await waitFor(
    async () => (await getCheckpoint(client, namespace, 'cp-ttl')).status?.phase === 'Scheduled',
    { timeoutMs: 30_000, description: 'Scheduled' },
  );
  const jobName = (await getCheckpoint(client, namespace, 'cp-ttl')).status!.jobName!;
  await first.stop();
  await client.delete(Jobs, jobName, namespace, { propagationPolicy: 'Background' });
  await waitFor(async () => !(await client.getOrUndefined(Jobs, jobName, namespace)), {
    timeoutMs: 30_000,
    description: 'Job gone',
  });

  const second = await startController({ namespace, workerNamespace: namespace });
  try {
    await waitFor(async () => (await getCheckpoint(client, namespace, 'cp-ttl')).status?.phase === 'Failed', {
      timeoutMs: 30_000,
      description: 'Failed',
    });
    const failed = await getCheckpoint(client, namespace, 'cp-ttl');
    expect(failed.status?.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('JobDeleted');
    const jobs = await client.list(Jobs, {
      namespace,
      labelSelector: `${LABELS.checkpointUid}=${cp.metadata.uid}`,
    });
    expect(jobs.items).toEqual([]);
  } finally {
    await second.stop();
  }
});
