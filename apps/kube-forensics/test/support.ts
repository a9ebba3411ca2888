/**
 * Shared set-up of the integration tests: clients on the jest run's control plane, the CRD, nodes and
 * target pods, the controller in-process, S3 on the emulator (moto), and helpers that read a capture
 * back from S3.
 */
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { AwsClients } from '@keiko/aws-kit';
import { CoreResources, KubeClient, type KubeObject, Manager, silentLogger } from '@keiko/operator-kit';
import {
  installCrds,
  KWOK_NODE_ANNOTATION,
  KWOK_NODE_ANNOTATION_VALUE,
  testKubeConfig,
  uniqueName,
  waitFor,
} from '@keiko/testkit';
import { Registry } from 'prom-client';
import { type PodCheckpoint, type PodCheckpointSpec, PodCheckpoints } from '../src/api/podcheckpoint.js';
import { type Config, DEFAULTS } from '../src/config.js';
import { podCheckpointController } from '../src/controller/podcheckpoint.js';

export const CHART_DIR = fileURLToPath(new URL('../../../deploy/charts/kube-forensics', import.meta.url));
export const CRD_FILE = `${CHART_DIR}/crds/forensics.keikoproj.io_podcheckpoints.yaml`;

export async function kubeClient(fieldManager = 'kube-forensics-test'): Promise<KubeClient> {
  await installCrds(testKubeConfig(), CRD_FILE);
  return KubeClient.fromKubeConfig(testKubeConfig(), fieldManager);
}

/**
 * A Node. `kwok: true`: kwok simulates its kubelet (Ready, pods Running, Job pods Succeeded at once).
 * `kwok: false`: no kubelet at all; the test plays the kubelet for it (see {@link setPodStatus}).
 */
export async function createNode(
  client: KubeClient,
  options: { kwok: boolean; taints?: unknown[] },
): Promise<string> {
  const name = uniqueName(options.kwok ? 'kf-kwok' : 'kf-manual');
  await client.create(CoreResources.nodes, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name },
      ...(options.kwok ? { annotations: { [KWOK_NODE_ANNOTATION]: KWOK_NODE_ANNOTATION_VALUE } } : {}),
    },
    spec: { taints: options.taints ?? [] },
  });
  return name;
}

export interface PodSpecInput {
  containers: string[];
  initContainers?: string[];
}

/** A pod bound to `node`, tolerating every taint (the manual node gets tainted unreachable by the node lifecycle controller). */
export async function createPod(
  client: KubeClient,
  namespace: string,
  name: string,
  node: string,
  input: PodSpecInput,
) {
  return client.create<KubeObject>(CoreResources.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      nodeName: node,
      tolerations: [{ operator: 'Exists' }],
      initContainers: (input.initContainers ?? []).map((c) => ({
        name: c,
        image: `registry.example/${c}:1`,
      })),
      containers: input.containers.map((c) => ({ name: c, image: `registry.example/${c}:1` })),
    },
  });
}

/** The worker ServiceAccount the chart installs; the Job's pods are refused without it. */
export async function createWorkerServiceAccount(client: KubeClient, namespace: string) {
  await client.create(
    { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'kube-forensics-worker', namespace } },
  );
}

/**
 * A pod on a kwok node, Running with container IDs: kwok marks it Running first (its status carries no
 * container IDs), then the test adds the IDs a runtime would report. Waiting for kwok first matters:
 * kwok's own status write would otherwise overwrite the IDs.
 */
export async function runOnKwok(
  client: KubeClient,
  pod: KubeObject,
  ids: Record<string, string> = {},
  runtime = 'containerd',
) {
  await waitFor(
    async () =>
      (
        await client.get<KubeObject & { status?: { phase?: string } }>(
          CoreResources.pods,
          pod.metadata.name!,
          pod.metadata.namespace,
        )
      ).status?.phase === 'Running',
    { timeoutMs: 30_000, description: `kwok to run ${pod.metadata.name}` },
  );
  await setPodStatus(client, pod, { phase: 'Running' }, ids, runtime);
}

const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Writes a pod's status the way a kubelet and its runtime would: Running with containerd container
 * IDs (kwok's pod stages report no container IDs), or terminated with an exit code.
 */
export async function setPodStatus(
  client: KubeClient,
  pod: KubeObject,
  state: { phase: 'Running' } | { phase: 'Succeeded' | 'Failed'; exitCode: number; message?: string },
  ids: Record<string, string> = {},
  runtime = 'containerd',
) {
  const spec = pod.spec as {
    containers: { name: string; image: string }[];
    initContainers?: { name: string; image: string }[];
  };
  const status = (c: { name: string; image: string }, init: boolean) => ({
    name: c.name,
    image: c.image,
    imageID: `${c.image.replace(/:.*/, '')}@sha256:${'ab'.repeat(32)}`,
    containerID: `${runtime}://${ids[c.name] ?? `${c.name}-${'0'.repeat(20)}`}`,
    ready: state.phase === 'Running' && !init,
    restartCount: 0,
    state:
      state.phase === 'Running' && !init
        ? { running: { startedAt: nowIso() } }
        : {
            terminated: {
              exitCode: state.phase === 'Running' ? 0 : state.exitCode,
              reason: state.phase === 'Running' || state.exitCode === 0 ? 'Completed' : 'Error',
              ...(state.phase !== 'Running' && state.message ? { message: state.message } : {}),
              startedAt: nowIso(),
              finishedAt: nowIso(),
            },
          },
  });
  const ready = state.phase === 'Running' ? 'True' : 'False';
  await client.patch(
    CoreResources.pods,
    pod.metadata.name!,
    pod.metadata.namespace,
    {
      status: {
        phase: state.phase,
        conditions: [
          { type: 'Initialized', status: 'True', lastTransitionTime: nowIso() },
          { type: 'Ready', status: ready, lastTransitionTime: nowIso() },
          { type: 'ContainersReady', status: ready, lastTransitionTime: nowIso() },
        ],
        startTime: nowIso(),
        initContainerStatuses: (spec.initContainers ?? []).map((c) => status(c, true)),
        containerStatuses: spec.containers.map((c) => status(c, false)),
      },
    },
    'merge',
    'status',
  );
}

export async function createCheckpoint(
  client: KubeClient,
  namespace: string,
  name: string,
  spec: PodCheckpointSpec,
) {
  return client.create<PodCheckpoint>(PodCheckpoints, {
    apiVersion: 'forensics.keikoproj.io/v1alpha1',
    kind: 'PodCheckpoint',
    metadata: { name, namespace },
    spec,
  });
}

export function getCheckpoint(client: KubeClient, namespace: string, name: string) {
  return client.get<PodCheckpoint>(PodCheckpoints, name, namespace);
}

/** The controller in this process, watching one namespace, with Jobs in `workerNamespace`. */
export async function startController(config: Partial<Config> & { workerNamespace: string }) {
  const registry = new Registry();
  const manager = await Manager.create({
    name: 'kube-forensics',
    kubeConfig: testKubeConfig(),
    logger: silentLogger(),
    registry,
  });
  podCheckpointController(manager, { config: { ...DEFAULTS, podWaitSeconds: 1, ...config }, registry });
  await manager.start();
  return { manager, registry, stop: () => manager.stop() };
}

/**
 * Records every phase a PodCheckpoint passes through, by watching it (so a phase that lasts less than
 * a polling interval is still seen), from its creation on.
 */
export function phaseRecorder(client: KubeClient, namespace: string, name: string) {
  const phases: string[] = [];
  const abort = new AbortController();
  const done = (async () => {
    try {
      for await (const ev of client.watch<PodCheckpoint>(PodCheckpoints, {
        namespace,
        fieldSelector: `metadata.name=${name}`,
        timeoutSeconds: 300,
        idleTimeoutMs: 120_000,
        signal: abort.signal,
      })) {
        const p = ev.object?.status?.phase;
        if (p && phases.at(-1) !== p) phases.push(p);
      }
    } catch {
      // aborted
    }
  })();
  return {
    phases,
    /**
     * Stops watching. `final`: the phase a GET has already shown; the watch may deliver it a moment
     * later, so wait (up to 10 s) for it to arrive before stopping, and let the caller's assertion
     * report what was seen if it never does.
     */
    stop: async (final?: string) => {
      if (final)
        await waitFor(async () => phases.at(-1) === final, {
          timeoutMs: 10_000,
          intervalMs: 50,
          description: `the watch to deliver phase ${final}`,
        }).catch(() => undefined);
      abort.abort();
      await done;
      return phases;
    },
  };
}

/** Polls `read` until it returns a value, and returns that value. */
export async function eventually<T>(
  read: () => Promise<T | undefined>,
  description: string,
  timeoutMs = 30_000,
): Promise<T> {
  let value: T | undefined;
  await waitFor(
    async () => {
      value = await read();
      return value !== undefined;
    },
    { timeoutMs, description },
  );
  return value as T;
}

export async function s3Clients(): Promise<AwsClients> {
  return AwsClients.create({});
}

export async function createBucket(aws: AwsClients, prefix = 'kf-evidence'): Promise<string> {
  const bucket = uniqueName(prefix).toLowerCase();
  await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export async function readObject(aws: AwsClients, bucket: string, key: string): Promise<Buffer> {
  const out = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

export async function listKeys(aws: AwsClients, bucket: string): Promise<string[]> {
  const out = await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}
