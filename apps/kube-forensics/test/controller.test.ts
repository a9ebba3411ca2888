/**
 * The controller on the real control plane. kwok runs pods on Nodes it manages but executes nothing,
 * and its pod stages report no container IDs and complete every Job pod at once with exit code 0. So:
 *
 * - "kwok node" tests let kwok run the capture Job as it does: the Job "succeeds" without a worker
 *   ever running, which the controller must report as Failed/WorkerReportMissing (upstream reported
 *   such a Job as a success).
 * - "manual node" tests use a Node no kubelet manages: the test plays that node's kubelet, writing the
 *   target pod's and the Job pod's status (Running, then terminated with the worker's exit code), and
 *   runs the worker in-process from the Job pod's own environment, against a fixture of the node's
 *   filesystem, a fake CRI runtime (a Job pod here runs no container; containerd.test.ts covers the
 *   real runtime) and moto's S3. The
 *   controller sees only what it would see in a cluster: the Job, its pods and the worker's report.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AwsClients } from '@keiko/aws-kit';
import { CoreResources, type KubeClient, type KubeObject, silentLogger } from '@keiko/operator-kit';
import { createTestNamespace, testKubeConfig, waitFor } from '@keiko/testkit';
import type { PodCheckpoint } from '../src/api/podcheckpoint.js';
import { type JobObject, LABELS, WORKER_CONTAINER } from '../src/checkpoint/job.js';
import { WORKER_EXIT } from '../src/checkpoint/worker-env.js';
import { CLEANUP_FINALIZER, QUARANTINE_LABEL } from '../src/controller/podcheckpoint.js';
import { Jobs } from '../src/controller/resources.js';
import { runCapture } from '../src/worker/capture.js';
import { parseWorkerEnv } from '../src/worker/config.js';
import { statusReporter } from '../src/worker/report.js';
import { s3Uploader, type Uploader } from '../src/worker/upload.js';
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
  phaseRecorder,
  runOnKwok,
  s3Clients,
  setPodStatus,
  startController,
} from './support.js';

let client: KubeClient;
let aws: AwsClients;
let namespace: string;
let kwokNode: string;
let manualNode: string;
let controller: Awaited<ReturnType<typeof startController>>;

beforeAll(async () => {
  client = await kubeClient();
  aws = await s3Clients();
  namespace = await createTestNamespace(testKubeConfig(), 'kf-ctrl');
  kwokNode = await createNode(client, {
    kwok: true,
    taints: [{ key: 'forensics.keikoproj.io/suspect', value: 'true', effect: 'NoSchedule' }],
  });
  manualNode = await createNode(client, { kwok: false });
  await createWorkerServiceAccount(client, namespace);
  controller = await startController({
    namespace,
    workerNamespace: namespace,
    allowedBuckets: ['kf-evidence*'],
    allowIsolation: true,
  });
});
afterAll(async () => {
  await controller.stop();
  await client.delete(CoreResources.nodes, kwokNode);
  await client.delete(CoreResources.nodes, manualNode);
  removeNodeFixtures();
  aws.destroy();
  client.transport.close();
});

export async function jobFor(c: KubeClient, ns: string, cp: PodCheckpoint): Promise<JobObject | undefined> {
  const jobs = await c.list<JobObject>(Jobs, {
    namespace: ns,
    labelSelector: `${LABELS.checkpointUid}=${cp.metadata.uid}`,
  });
  return jobs.items[0];
}

export async function jobPods(c: KubeClient, ns: string, job: JobObject): Promise<KubeObject[]> {
  const pods = await c.list<KubeObject>(CoreResources.pods, {
    namespace: ns,
    labelSelector: `job-name=${job.metadata.name}`,
  });
  return pods.items.sort((a, b) =>
    (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''),
  );
}

async function eventsOf(cp: PodCheckpoint) {
  const events = await client.list<
    KubeObject & { reason?: string; type?: string; regarding?: { uid?: string } }
  >(CoreResources.events, { namespace });
  return events.items.filter((e) => e.regarding?.uid === cp.metadata.uid).map((e) => `${e.type}/${e.reason}`);
}

const condition = (cp: PodCheckpoint, type: string) => cp.status?.conditions?.find((c) => c.type === type);

async function waitForPhase(name: string, phase: string, ns = namespace) {
  let last: PodCheckpoint | undefined;
  await waitFor(
    async () => {
      last = await getCheckpoint(client, ns, name);
      return last.status?.phase === phase;
    },
    { timeoutMs: 60_000, description: `${name} to reach ${phase} (last: ${JSON.stringify(last?.status)})` },
  );
  return last!;
}

describe('a running pod on a kwok node', () => {
  test('creates the capture Job on the pod node with tolerations, deadline, TTL, small backoff and least privilege; a Job that completes without the worker report ends Failed', async () => {
    const pod = await createPod(client, namespace, 'api-0', kwokNode, {
      initContainers: ['setup'],
      containers: ['app', 'sidecar'],
    });
    await runOnKwok(client, pod);
    const recorder = phaseRecorder(client, namespace, 'cp-kwok');
    const cp = await createCheckpoint(client, namespace, 'cp-kwok', {
      pod: 'api-0',
      destination: 's3://kf-evidence-a/cases',
      subpath: 'incident-7',
    });

    const job = await eventually(() => jobFor(client, namespace, cp), 'capture Job');
    // biome-ignore lint/suspicious/noExplicitAny: a rendered Job read back from the API server
    const podSpec = job.spec!.template!.spec! as Record<string, any>;
    expect(podSpec.nodeName).toBe(kwokNode);
    expect(podSpec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(podSpec.restartPolicy).toBe('Never');
    expect(podSpec.serviceAccountName).toBe('kube-forensics-worker');
    expect(podSpec.hostNetwork).toBeFalsy();
    expect(job.spec).toMatchObject({
      backoffLimit: 1,
      activeDeadlineSeconds: 900,
      ttlSecondsAfterFinished: 3600,
    });
    const container = podSpec.containers[0];
    expect(container.securityContext).toEqual({
      runAsUser: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH', 'SYS_PTRACE'] },
    });
    expect(container.volumeMounts.every((m: { readOnly?: boolean }) => m.readOnly)).toBe(true);
    expect(podSpec.volumes.find((v: { name: string }) => v.name === 'cri-socket').hostPath).toEqual({
      path: '/run/containerd/containerd.sock',
      type: 'Socket',
    });
    const env = Object.fromEntries(
      container.env.map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    const epoch = Math.floor(Date.parse(cp.metadata.creationTimestamp!) / 1000);
    expect(env).toMatchObject({
      POD_NAME: 'api-0',
      POD_NAMESPACE: namespace,
      POD_UID: pod.metadata.uid,
      NODE_NAME: kwokNode,
      DEST_BUCKET: 'kf-evidence-a',
      DEST_PREFIX: `cases/incident-7/${epoch}_${namespace}_api-0`,
      REQUESTER: 'kube-forensics-test', // the field manager that created the request
    });
    // Every container, the init container included, by its containerd ID.
    expect(
      JSON.parse(env.CONTAINERS).map(
        (c: { name: string; kind: string; runtime: string }) => `${c.kind}/${c.name}/${c.runtime}`,
      ),
    ).toEqual(['init/setup/containerd', 'container/app/containerd', 'container/sidecar/containerd']);
    expect(job.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'PodCheckpoint',
      name: 'cp-kwok',
      uid: cp.metadata.uid,
      controller: true,
    });

    // kwok "runs" the Job pod: Running, then Succeeded with exit code 0, and no worker ever reported.
    const done = await waitForPhase('cp-kwok', 'Failed');
    expect(condition(done, 'Failed')).toMatchObject({ status: 'True', reason: 'WorkerReportMissing' });
    expect(condition(done, 'Accepted')).toMatchObject({ status: 'True' });
    expect(condition(done, 'Complete')).toMatchObject({ status: 'False' });
    expect(done.status).toMatchObject({
      succeeded: 1,
      nodeName: kwokNode,
      location: `s3://kf-evidence-a/cases/incident-7/${epoch}_${namespace}_api-0`,
    });
    expect(done.status?.completionTime).toBeDefined();
    const phases = await recorder.stop('Failed');
    expect(phases[0]).toBe('Scheduled');
    expect(phases.at(-1)).toBe('Failed');
    expect(await eventsOf(done)).toEqual(
      expect.arrayContaining(['Normal/Scheduled', 'Warning/WorkerReportMissing']),
    );
  });

  test('waits while the pod containers have not started, then proceeds', async () => {
    const pod = await createPod(client, namespace, 'late-0', kwokNode, { containers: ['app'] });
    const cp = await createCheckpoint(client, namespace, 'cp-late', {
      pod: 'late-0',
      destination: 's3://kf-evidence-a',
    });
    const pending = await waitForPhase('cp-late', 'Pending');
    expect(condition(pending, 'Accepted')).toMatchObject({
      status: 'Unknown',
      reason: 'ContainersNotStarted',
    });
    expect(await jobFor(client, namespace, cp)).toBeUndefined();
    await runOnKwok(client, pod);
    await waitFor(async () => Boolean(await jobFor(client, namespace, cp)), {
      timeoutMs: 30_000,
      description: 'capture Job',
    });
  });
});

describe('isolation', () => {
  test('spec.isolate labels the pod for a quarantine NetworkPolicy and cordons its node before the capture', async () => {
    const suspectNode = await createNode(client, { kwok: true });
    try {
      const pod = await createPod(client, namespace, 'iso-0', suspectNode, { containers: ['app'] });
      await runOnKwok(client, pod);
      const cp = await createCheckpoint(client, namespace, 'cp-iso', {
        pod: 'iso-0',
        destination: 's3://kf-evidence-a',
        isolate: { label: true, cordon: true },
      });
      await eventually(() => jobFor(client, namespace, cp), 'capture Job');
      const livePod = await client.get<KubeObject>(CoreResources.pods, 'iso-0', namespace);
      expect(livePod.metadata.labels).toMatchObject({ [QUARANTINE_LABEL]: 'true', app: 'iso-0' });
      const node = await client.get<KubeObject & { spec?: { unschedulable?: boolean } }>(
        CoreResources.nodes,
        suspectNode,
      );
      expect(node.spec?.unschedulable).toBe(true);
      const status = await getCheckpoint(client, namespace, 'cp-iso');
      expect(condition(status, 'Isolated')).toMatchObject({ status: 'True', reason: 'Isolated' });
    } finally {
      await client.delete(CoreResources.nodes, suspectNode);
    }
  });
});

describe('terminal failures end the request without a Job', () => {
  test.each([
    ['a missing pod', 'cp-missing', { pod: 'no-such-pod', destination: 's3://kf-evidence-a' }, 'PodNotFound'],
    [
      'a bucket outside --allowed-buckets',
      'cp-exfil',
      { pod: 'api-0', destination: 's3://exfil-bucket/loot' },
      'DestinationNotAllowed',
    ],
    [
      'a container that does not exist',
      'cp-noctr',
      { pod: 'api-0', destination: 's3://kf-evidence-a', containers: ['nope'] },
      'ContainerNotFound',
    ],
    [
      'an unsupported runtime',
      'cp-rkt',
      { pod: 'rkt-0', destination: 's3://kf-evidence-a' },
      'UnsupportedRuntime',
    ],
  ])('%s', async (_what, name, spec, reason) => {
    if (name === 'cp-rkt') {
      const pod = await createPod(client, namespace, 'rkt-0', kwokNode, { containers: ['app'] });
      await runOnKwok(client, pod, {}, 'rkt');
    }
    const cp = await createCheckpoint(client, namespace, name, spec);
    const failed = await waitForPhase(name, 'Failed');
    expect(condition(failed, 'Failed')).toMatchObject({ status: 'True', reason });
    expect(condition(failed, 'Accepted')).toMatchObject({ status: 'False', reason });
    expect(condition(failed, 'Ready')).toMatchObject({ status: 'False', reason });
    expect(failed.status?.jobName).toBeUndefined();
    expect(await jobFor(client, namespace, cp)).toBeUndefined();
    await waitFor(async () => (await eventsOf(cp)).includes(`Warning/${reason}`), {
      timeoutMs: 10_000,
      description: 'Warning event',
    });
    // Terminal: a later change of the world does not revive it.
    await client.patch(
      {
        group: 'forensics.keikoproj.io',
        version: 'v1alpha1',
        plural: 'podcheckpoints',
        kind: 'PodCheckpoint',
        namespaced: true,
      },
      name,
      namespace,
      { metadata: { labels: { touched: 'yes' } } },
    );
    await new Promise((r) => setTimeout(r, 500));
    expect((await getCheckpoint(client, namespace, name)).status?.phase).toBe('Failed');
    expect(await jobFor(client, namespace, cp)).toBeUndefined();
  });
});

/** A target pod on the manual node, its fixture and fake runtime, and the worker wired to them. */
async function manualWorld(podName: string) {
  const pod = await createPod(client, namespace, podName, manualNode, {
    initContainers: ['setup'],
    containers: ['app'],
  });
  await setPodStatus(client, pod, { phase: 'Running' }, { setup: `setup-${podName}`, app: `app-${podName}` });
  const ref = { namespace, name: podName, uid: pod.metadata.uid! };
  const hostRoot = nodeFixture(ref, [{ name: 'setup' }, { name: 'app', pid: 3100, children: [3101] }]);
  const runtime = new FakeRuntime(
    [{ ...ref, id: `sandbox-${podName}` }],
    [{ id: `setup-${podName}` }, { id: `app-${podName}`, pid: 3100 }],
  );
  const bucket = await createBucket(aws);
  /** Runs the worker the way the Job pod would: from that pod's environment. */
  const runWorker = async (jobPod: KubeObject, upload?: (inner: Uploader) => Uploader) => {
    const spec = jobPod.spec as { containers: { name: string; env: { name: string; value: string }[] }[] };
    const env = Object.fromEntries(
      spec.containers.find((c) => c.name === WORKER_CONTAINER)!.env.map((e) => [e.name, e.value]),
    );
    const config = parseWorkerEnv({ ...env, HOST_ROOT: hostRoot });
    let bytes = 0;
    const inner = s3Uploader(aws, config.bucket, (n) => {
      bytes += n;
    });
    return runCapture(config, {
      runtime,
      upload: upload ? upload(inner) : inner,
      report: statusReporter(client, config.checkpoint),
      client,
      log: silentLogger(),
      bytesUploaded: () => bytes,
    });
  };
  return { pod, bucket, runWorker };
}

describe('a pod on a node whose kubelet the test plays, the worker in-process', () => {
  test('Scheduled -> Capturing -> Uploading -> Succeeded as the worker reports and the Job completes', async () => {
    const w = await manualWorld('db-0');
    const recorder = phaseRecorder(client, namespace, 'cp-full');
    const cp = await createCheckpoint(client, namespace, 'cp-full', {
      pod: 'db-0',
      destination: `s3://${w.bucket}/evidence`,
    });
    const job = await eventually(() => jobFor(client, namespace, cp), 'capture Job');
    expect(job.spec!.template!.spec!.nodeName).toBe(manualNode);
    await waitForPhase('cp-full', 'Scheduled');
    const jobPod = await eventually(async () => (await jobPods(client, namespace, job))[0], 'Job pod');

    // Kubelet: the worker container starts.
    await setPodStatus(client, jobPod, { phase: 'Running' });
    await waitForPhase('cp-full', 'Capturing');

    // The worker runs; its first upload waits until the controller has shown Uploading.
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const worker = w.runWorker(jobPod, (inner) => async (key, body, type) => {
      await gate;
      return inner(key, body, type);
    });
    await waitForPhase('cp-full', 'Uploading');
    release();
    const outcome = await worker;
    expect(outcome.exitCode).toBe(WORKER_EXIT.ok);
    // The worker reported success, but the Job has not completed: still Uploading.
    expect((await getCheckpoint(client, namespace, 'cp-full')).status).toMatchObject({
      phase: 'Uploading',
      worker: { stage: 'Succeeded' },
    });

    // Kubelet: the worker exits 0.
    await setPodStatus(client, jobPod, {
      phase: 'Succeeded',
      exitCode: outcome.exitCode,
      message: outcome.summary,
    });
    const done = await waitForPhase('cp-full', 'Succeeded');
    expect(await recorder.stop('Succeeded')).toEqual(['Scheduled', 'Capturing', 'Uploading', 'Succeeded']);
    expect(condition(done, 'Complete')).toMatchObject({ status: 'True', reason: 'Captured' });
    expect(condition(done, 'Ready')).toMatchObject({ status: 'True' });
    expect(condition(done, 'Failed')).toMatchObject({ status: 'False' });
    expect(done.status).toMatchObject({
      succeeded: 1,
      active: 0,
      jobName: job.metadata.name,
      nodeName: manualNode,
    });
    expect(done.status?.completionTime).toBeDefined();
    const artifacts = done.status!.worker!.artifacts!;
    expect(artifacts.filter((a) => a.key).map((a) => `${a.container ?? '-'}/${a.name}`)).toEqual([
      '-/pod',
      '-/events',
      '-/sandbox-inspect',
      'setup/inspect',
      'setup/logs',
      'app/inspect',
      'app/logs',
      'app/fs-diff',
      'app/process',
    ]);
    expect(artifacts.every((a) => !a.key || /^[0-9a-f]{64}$/.test(a.sha256!))).toBe(true);
    const keys = await listKeys(aws, w.bucket);
    expect(keys).toContain(done.status!.worker!.manifestKey);
    expect(keys.every((k) => k.startsWith(done.status!.location!.replace(`s3://${w.bucket}/`, '')))).toBe(
      true,
    );
    expect(await eventsOf(done)).toEqual(
      expect.arrayContaining([
        'Normal/Scheduled',
        'Normal/Capturing',
        'Normal/Uploading',
        'Normal/Succeeded',
      ]),
    );
    const metric = await controller.registry.getSingleMetric('kube_forensics_checkpoints_total')!.get();
    expect(metric.values.find((v) => v.labels.result === 'succeeded')?.value).toBe(1);
  });

  test('the worker exits 3 (sandbox gone) on every try: Failed with TargetGone once the backoff limit is spent', async () => {
    const w = await manualWorld('cache-0');
    const cp = await createCheckpoint(client, namespace, 'cp-gone', {
      pod: 'cache-0',
      destination: `s3://${w.bucket}`,
    });
    const job = await eventually(() => jobFor(client, namespace, cp), 'capture Job');
    // backoffLimit 1: two pods, both exit 3 (the worker would, without a report reaching the API).
    for (let attempt = 1; attempt <= 2; attempt++) {
      const pods = await eventually(async () => {
        const list = await jobPods(client, namespace, job);
        return list.length >= attempt ? list : undefined;
      }, `Job pod ${attempt}`);
      const p = pods[attempt - 1]!;
      await setPodStatus(client, p, { phase: 'Running' });
      await setPodStatus(client, p, {
        phase: 'Failed',
        exitCode: WORKER_EXIT.targetGone,
        message: 'pod has no sandbox on node',
      });
    }
    const failed = await waitForPhase('cp-gone', 'Failed');
    expect(condition(failed, 'Failed')).toMatchObject({ status: 'True', reason: 'TargetGone' });
    expect(condition(failed, 'Failed')!.message).toContain('BackoffLimitExceeded');
    expect(condition(failed, 'Failed')!.message).toContain('pod has no sandbox on node');
    expect(failed.status?.failed).toBe(2);
  });
});

describe('a request in another namespace than the capture Jobs', () => {
  test('gets a finalizer instead of a cross-namespace owner reference, and deleting it deletes the Job', async () => {
    const requests = await createTestNamespace(testKubeConfig(), 'kf-requests');
    const other = await startController({
      namespace: requests,
      workerNamespace: namespace,
      allowedBuckets: [],
    });
    try {
      const pod = await createPod(client, requests, 'victim-0', kwokNode, { containers: ['app'] });
      await runOnKwok(client, pod);
      const cp = await createCheckpoint(client, requests, 'cp-x', {
        pod: 'victim-0',
        destination: 's3://any-bucket',
      });
      const job = await eventually(() => jobFor(client, namespace, cp), 'capture Job');
      expect(job.metadata.ownerReferences).toBeUndefined();
      expect(job.metadata.labels).toMatchObject({
        [LABELS.checkpointNamespace]: requests,
        [LABELS.checkpointName]: 'cp-x',
      });
      expect((await getCheckpoint(client, requests, 'cp-x')).metadata.finalizers).toContain(
        CLEANUP_FINALIZER,
      );
      await waitForPhase('cp-x', 'Failed', requests); // kwok completed the Job without a worker
      await client.delete(
        {
          group: 'forensics.keikoproj.io',
          version: 'v1alpha1',
          plural: 'podcheckpoints',
          kind: 'PodCheckpoint',
          namespaced: true,
        },
        'cp-x',
        requests,
      );
      await waitFor(async () => !(await jobFor(client, namespace, cp)), {
        timeoutMs: 30_000,
        description: 'Job deleted',
      });
      await waitFor(
        async () =>
          !(await client.getOrUndefined(
            {
              group: 'forensics.keikoproj.io',
              version: 'v1alpha1',
              plural: 'podcheckpoints',
              kind: 'PodCheckpoint',
              namespaced: true,
            },
            'cp-x',
            requests,
          )),
        {
          timeoutMs: 30_000,
          description: 'request gone',
        },
      );
    } finally {
      await other.stop();
    }
  });
});
