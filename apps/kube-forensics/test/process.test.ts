/**
 * e2e: the built controller (dist/main.js) as a child process, authenticated as the chart's
 * ServiceAccount with exactly the chart's RBAC (testkit chartIdentity), so a missing permission fails
 * here. The request lives in another namespace than the capture Jobs (the release namespace), which
 * exercises every permission: watch requests, the cleanup finalizer, status, target pods, Jobs
 * (create, watch, delete), the Job pods' exit codes, events and the leader lease.
 * The chart's worker identity is checked the same way: it can do what the worker does and no more.
 *
 * The process is started with `--namespace=<test namespace>` only so that it leaves the requests of
 * the test files running beside it alone; the chart's RBAC is cluster-wide.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CoreResources, ForbiddenError, KubeClient, type KubeObject } from '@keiko/operator-kit';
import {
  applyManifests,
  chartIdentity,
  createTestNamespace,
  freePort,
  rawRequest,
  renderChart,
  renderKubeconfig,
  testKubeConfig,
  waitFor,
} from '@keiko/testkit';
import { KubeConfig } from '@kubernetes/client-node';
import { PodCheckpoints } from '../src/api/podcheckpoint.js';
import { CLEANUP_FINALIZER } from '../src/controller/podcheckpoint.js';
import { Jobs } from '../src/controller/resources.js';
import { statusReporter } from '../src/worker/report.js';
import {
  CHART_DIR,
  createCheckpoint,
  createNode,
  createPod,
  createWorkerServiceAccount,
  getCheckpoint,
  kubeClient,
  runOnKwok,
} from './support.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let client: KubeClient;
let releaseNs: string;
let requestNs: string;
let node: string;
let child: ChildProcess | undefined;
let output = '';
let opsPort: number;

beforeAll(async () => {
  client = await kubeClient();
  const kc = testKubeConfig();
  releaseNs = await createTestNamespace(kc, 'kf-release');
  requestNs = await createTestNamespace(kc, 'kf-requests');
  node = await createNode(client, { kwok: true });
  // chartIdentity wants one ServiceAccount: the controller's. The worker's is checked below.
  const identity = await chartIdentity(kc, CHART_DIR, {
    releaseName: 'kf',
    namespace: releaseNs,
    values: { worker: { serviceAccount: { create: false } } },
  });
  await createWorkerServiceAccount(client, releaseNs);
  opsPort = await freePort();
  child = spawn(
    process.execPath,
    [
      MAIN,
      '--leader-elect=true',
      `--ops-port=${opsPort}`,
      `--namespace=${requestNs}`,
      '--allowed-buckets=kf-evidence*',
      '--log-level=debug',
    ],
    {
      env: { ...process.env, KUBECONFIG: identity.kubeconfigPath, POD_NAMESPACE: releaseNs },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${opsPort}/readyz`).catch(() => undefined))?.status === 200,
    {
      timeoutMs: 30_000,
      description: 'controller /readyz',
    },
  );
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }
  await client.delete(CoreResources.nodes, node);
  client.transport.close();
});

test('under the chart RBAC: a capture Job in the release namespace, phases, events, finalizer cleanup, terminal failures, metrics', async () => {
  const pod = await createPod(client, requestNs, 'target-0', node, { containers: ['app'] });
  await runOnKwok(client, pod);
  // The chart leaves isolation off: asked for anyway, it is reported and the capture goes on.
  const cp = await createCheckpoint(client, requestNs, 'cp-e2e', {
    pod: 'target-0',
    destination: 's3://kf-evidence-e2e/ir',
    isolate: { label: true },
  });
  // kwok runs the Job pod to exit 0 without a worker: the controller must call that a failure.
  await waitFor(async () => (await getCheckpoint(client, requestNs, 'cp-e2e')).status?.phase === 'Failed', {
    timeoutMs: 60_000,
    description: `cp-e2e Failed (controller output: ${output.slice(-2000)})`,
  });
  const failed = await getCheckpoint(client, requestNs, 'cp-e2e');
  expect(failed.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({
    reason: 'WorkerReportMissing',
  });
  expect(failed.metadata.finalizers).toContain(CLEANUP_FINALIZER);
  expect(failed.status?.conditions?.find((c) => c.type === 'Isolated')).toMatchObject({
    status: 'False',
    reason: 'IsolationDisabled',
  });
  expect(failed.status).toMatchObject({ jobNamespace: releaseNs, nodeName: node, succeeded: 1 });
  const events = await client.list<KubeObject & { reason?: string; regarding?: { uid?: string } }>(
    CoreResources.events,
    { namespace: requestNs },
  );
  expect(events.items.filter((e) => e.regarding?.uid === cp.metadata.uid).map((e) => e.reason)).toEqual(
    expect.arrayContaining(['Scheduled', 'WorkerReportMissing']),
  );

  // Terminal failures without a Job.
  await createCheckpoint(client, requestNs, 'cp-missing', {
    pod: 'nope',
    destination: 's3://kf-evidence-e2e',
  });
  await createCheckpoint(client, requestNs, 'cp-exfil', { pod: 'target-0', destination: 's3://exfil' });
  for (const [name, reason] of [
    ['cp-missing', 'PodNotFound'],
    ['cp-exfil', 'DestinationNotAllowed'],
  ] as const) {
    await waitFor(async () => (await getCheckpoint(client, requestNs, name)).status?.phase === 'Failed', {
      timeoutMs: 30_000,
      description: `${name} Failed`,
    });
    expect(
      (await getCheckpoint(client, requestNs, name)).status?.conditions?.find((c) => c.type === 'Failed')
        ?.reason,
    ).toBe(reason);
  }

  // Deleting the request deletes its Job in the release namespace (finalizer), then the request goes.
  const jobName = failed.status!.jobName!;
  expect(await client.getOrUndefined(Jobs, jobName, releaseNs)).toBeDefined();
  await client.delete(PodCheckpoints, 'cp-e2e', requestNs);
  await waitFor(async () => !(await client.getOrUndefined(Jobs, jobName, releaseNs)), {
    timeoutMs: 30_000,
    description: 'Job deleted',
  });
  await waitFor(async () => !(await client.getOrUndefined(PodCheckpoints, 'cp-e2e', requestNs)), {
    timeoutMs: 30_000,
    description: 'request gone',
  });

  const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  expect(metrics).toMatch(
    /kube_forensics_checkpoints_total\{result="failed",reason="WorkerReportMissing"\} 1/,
  );
  expect(metrics).toMatch(/kube_forensics_checkpoints_total\{result="failed",reason="PodNotFound"\} 1/);
  expect(metrics).toContain('controller_runtime_reconcile_total');
  expect(output).not.toMatch(/forbidden/i);

  // Graceful shutdown: SIGTERM, exit 0, lease released.
  child!.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child!.once('exit', r));
  expect(code).toBe(0);
});

test("the chart's worker identity can read the target pod and its events and report status, and nothing else", async () => {
  const kc = testKubeConfig();
  const rendered = await renderChart(CHART_DIR, {
    releaseName: 'kfw',
    namespace: releaseNs,
    values: { worker: { serviceAccount: { name: 'kfw-worker' } } },
  });
  const workerRbac = rendered.filter(
    (m) =>
      (m.metadata.labels as Record<string, string> | undefined)?.['app.kubernetes.io/component'] ===
      'capture-worker',
  );
  expect(workerRbac.map((m) => m.kind).sort()).toEqual([
    'ClusterRole',
    'ClusterRoleBinding',
    'ServiceAccount',
  ]);
  await applyManifests(kc, workerRbac, { namespace: releaseNs });
  const token = (await rawRequest(
    kc,
    'POST',
    `/api/v1/namespaces/${releaseNs}/serviceaccounts/kfw-worker/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 600 },
    },
  )) as { status: { token: string } };
  const cluster = kc.getCurrentCluster()!;
  const path = join(mkdtempSync(join(tmpdir(), 'kf-worker-')), 'kubeconfig');
  writeFileSync(
    path,
    renderKubeconfig({
      server: cluster.server,
      caPem: Buffer.from(cluster.caData!, 'base64').toString('utf8'),
      user: 'worker',
      token: token.status.token,
    }),
  );
  const wkc = new KubeConfig();
  wkc.loadFromFile(path);
  const worker = await KubeClient.fromKubeConfig(wkc, 'kube-forensics-worker');
  try {
    const cp = await createCheckpoint(client, requestNs, 'cp-worker', {
      pod: 'target-0',
      destination: 's3://kf-evidence-e2e',
    });
    await worker.get(CoreResources.pods, 'target-0', requestNs);
    await worker.list(
      { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
      { namespace: requestNs },
    );
    await statusReporter(worker, { namespace: requestNs, name: 'cp-worker', uid: cp.metadata.uid! })({
      stage: 'Capturing',
      message: 'hello',
    });
    expect((await getCheckpoint(client, requestNs, 'cp-worker')).status?.worker).toEqual({
      stage: 'Capturing',
      message: 'hello',
    });
    // A report for a deleted-and-recreated request of the same name is refused (UID in the patch).
    await expect(
      statusReporter(worker, {
        namespace: requestNs,
        name: 'cp-worker',
        uid: '00000000-0000-0000-0000-000000000000',
      })({ stage: 'Failed' }),
    ).rejects.toThrow();
    // No more than that.
    await expect(worker.list(CoreResources.pods, { namespace: requestNs })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    await expect(
      worker.patch(PodCheckpoints, 'cp-worker', requestNs, { metadata: { labels: { x: 'y' } } }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(worker.list(CoreResources.secrets, { namespace: requestNs })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
  } finally {
    worker.transport.close();
    rmSync(dirname(path), { recursive: true, force: true });
  }
});
