/**
 * testkit against the shared control plane started by the jest global setup: the real API server
 * stores, validates and watches objects; kwok runs Nodes and pods; kube-controller-manager and
 * kube-scheduler do their jobs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PolicyV1Api,
  type V1Node,
  VersionApi,
  Watch,
} from '@kubernetes/client-node';
import {
  createTestNamespace,
  deleteTestNamespace,
  installCrds,
  KWOK_FAILING_IMAGE,
  KWOK_NODE_ANNOTATION,
  KWOK_NODE_ANNOTATION_VALUE,
  testKubeConfig,
  uniqueName,
  versions,
  waitFor,
} from '../src/index.js';

let kc: KubeConfig;
let ns: string;
let core: CoreV1Api;
const nodesToDelete: string[] = [];

beforeAll(async () => {
  kc = testKubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  ns = await createTestNamespace(kc, 'testkit');
});

afterAll(async () => {
  await deleteTestNamespace(kc, ns);
  for (const name of nodesToDelete) await core.deleteNode({ name }).catch(() => {});
});

describe('the API server', () => {
  it('reports the pinned Kubernetes version (stamped at build time)', async () => {
    const info = await kc.makeApiClient(VersionApi).getCode();
    expect(info.gitVersion).toBe(versions().kubernetes);
    expect(info.minor).toBe(versions().kubernetes.split('.')[1]);
  });

  it('creates, gets and watches a namespaced object', async () => {
    const name = uniqueName('cm');
    const seen: string[] = [];
    let sawModified!: () => void;
    const modified = new Promise<void>((resolve) => {
      sawModified = resolve;
    });
    // watch() resolves once the API server has accepted the watch request.
    const controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      {},
      (type, obj: { metadata?: { name?: string } }) => {
        seen.push(`${type}:${obj.metadata?.name}`);
        if (type === 'MODIFIED' && obj.metadata?.name === name) sawModified();
      },
      () => {},
    );
    try {
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { a: '1' } } });
      const got = await core.readNamespacedConfigMap({ namespace: ns, name });
      expect(got.data).toEqual({ a: '1' });
      await core.replaceNamespacedConfigMap({
        namespace: ns,
        name,
        body: { ...got, data: { a: '1', b: '2' } },
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        modified,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no MODIFIED event; saw ${seen}`)), 10_000);
        }),
      ]).finally(() => clearTimeout(timer));
    } finally {
      controller.abort();
    }
    // The namespace also holds kube-root-ca.crt (published by kube-controller-manager); look at ours only.
    expect(seen.filter((e) => e.endsWith(`:${name}`))).toEqual([`ADDED:${name}`, `MODIFIED:${name}`]);
  });
});

describe('CRDs', () => {
  const group = 'testkit.keiko.dev';
  const plural = `widgets${Math.random().toString(36).slice(2, 7)}`;
  const crd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.${group}
spec:
  group: ${group}
  scope: Namespaced
  names: { plural: ${plural}, singular: ${plural.slice(0, -1)}, kind: W${plural}, listKind: W${plural}List }
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size: { type: integer, minimum: 1, maximum: 10 }
                mode: { type: string, enum: [lazy, eager] }
              x-kubernetes-validations:
                - rule: "self.mode != 'eager' || self.size >= 2"
                  message: "eager mode needs size >= 2"
`;

  beforeAll(async () => {
    const installed = await installCrds(kc, crd);
    expect(installed).toHaveLength(1);
  });

  afterAll(async () => {
    await kc.makeApiClient(ApiextensionsV1Api).deleteCustomResourceDefinition({ name: `${plural}.${group}` });
  });

  const objects = () => kc.makeApiClient(CustomObjectsApi);
  const create = (name: string, spec: Record<string, unknown>) =>
    objects().createNamespacedCustomObject({
      group,
      version: 'v1alpha1',
      namespace: ns,
      plural,
      body: { apiVersion: `${group}/v1alpha1`, kind: `W${plural}`, metadata: { name }, spec },
    });

  it('stores a valid custom object', async () => {
    await create('good', { size: 3, mode: 'lazy' });
    const got = (await objects().getNamespacedCustomObject({
      group,
      version: 'v1alpha1',
      namespace: ns,
      plural,
      name: 'good',
    })) as { spec: { size: number } };
    expect(got.spec.size).toBe(3);
  });

  it.each([
    [{ size: 0 }, 'spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1'],
    [{ mode: 'lazy' }, 'spec.size: Required value'],
    [{ size: 1, mode: 'fast' }, 'spec.mode: Unsupported value: "fast"'],
    [{ size: 1, mode: 'eager' }, 'eager mode needs size >= 2'],
  ])('rejects %j with the API server message naming the field', async (spec, message) => {
    const err = await create(uniqueName('bad'), spec).then(
      () => undefined,
      (e: unknown) => e as { code: number; body: string },
    );
    expect(err?.code).toBe(422);
    expect(JSON.parse(err!.body).message).toContain(message);
  });
});

describe('kwok nodes, scheduling and PDBs', () => {
  let node: V1Node;

  beforeAll(async () => {
    const name = uniqueName('node');
    nodesToDelete.push(name);
    await core.createNode({
      body: {
        metadata: {
          name,
          annotations: { [KWOK_NODE_ANNOTATION]: KWOK_NODE_ANNOTATION_VALUE },
          labels: { 'kubernetes.io/hostname': name, 'keiko.dev/test-node': name },
        },
        spec: { providerID: `aws:///us-west-2a/i-${name.slice(-8)}` },
      },
    });
    node = await waitFor(
      async () => {
        const n = await core.readNode({ name });
        return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? n : undefined;
      },
      { description: `node ${name} Ready`, timeoutMs: 60_000, intervalMs: 250 },
    );
  });

  it('a Node with the kwok annotation becomes Ready', () => {
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.spec?.providerID).toMatch(/^aws:\/\/\/us-west-2a\/i-/);
  });

  it('a Node without the annotation is left alone', async () => {
    const name = uniqueName('plain-node');
    nodesToDelete.push(name);
    await core.createNode({ body: { metadata: { name } } });
    // kwok initialises its nodes within a second; give it three before concluding it ignored this one.
    await new Promise((r) => setTimeout(r, 3_000));
    const plain = await core.readNode({ name });
    expect(plain.status?.conditions ?? []).toEqual([]);
  });

  it('a Job pod succeeds with exit code 0; one of KWOK_FAILING_IMAGE fails with exit code 1 and fails its Job', async () => {
    const batch = kc.makeApiClient(BatchV1Api);
    const nodeName = node.metadata!.name!;
    const job = (name: string, image: string) =>
      batch.createNamespacedJob({
        namespace: ns,
        body: {
          metadata: { name },
          spec: {
            backoffLimit: 0,
            template: {
              metadata: { labels: { job: name } },
              spec: {
                restartPolicy: 'Never',
                nodeSelector: { 'keiko.dev/test-node': nodeName },
                containers: [{ name: 'main', image }],
              },
            },
          },
        },
      });
    await job('passes', 'registry.example/tool:1');
    await job('fails', KWOK_FAILING_IMAGE);
    const finished = async (name: string) =>
      waitFor(
        async () => {
          const j = await batch.readNamespacedJob({ namespace: ns, name });
          return j.status?.conditions?.find(
            (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
          );
        },
        { description: `Job ${name} finished`, timeoutMs: 60_000, intervalMs: 250 },
      );
    expect((await finished('passes')).type).toBe('Complete');
    const failed = await finished('fails');
    expect(failed).toMatchObject({ type: 'Failed', reason: 'BackoffLimitExceeded' });
    const [pod] = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'job=fails' })).items;
    expect(pod?.status?.phase).toBe('Failed');
    expect(pod?.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 1,
      reason: 'Error',
    });
    const [ok] = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'job=passes' })).items;
    expect(ok?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
  });

  it("a Deployment's pods are scheduled to the kwok node and Run; a PDB guards them", async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const nodeName = node.metadata!.name!;
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              nodeSelector: { 'keiko.dev/test-node': nodeName },
              containers: [{ name: 'web', image: 'registry.example/web:1' }],
            },
          },
        },
      },
    });
    const pods = await waitFor(
      async () => {
        const list = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
        const running = list.items.filter((p) => p.status?.phase === 'Running');
        return running.length === 2 ? running : undefined;
      },
      { description: '2 web pods Running', timeoutMs: 60_000, intervalMs: 250 },
    );
    for (const pod of pods) expect(pod.spec?.nodeName).toBe(nodeName);

    const policy = kc.makeApiClient(PolicyV1Api);
    const pdbWith = async (minAvailable: number) => {
      const body = { metadata: { name: 'web' }, spec: { minAvailable, selector: { matchLabels: labels } } };
      const existing = await policy
        .readNamespacedPodDisruptionBudget({ namespace: ns, name: 'web' })
        .catch(() => undefined);
      if (existing) {
        await policy.replaceNamespacedPodDisruptionBudget({
          namespace: ns,
          name: 'web',
          body: {
            ...body,
            metadata: { ...body.metadata, resourceVersion: existing.metadata!.resourceVersion! },
          },
        });
      } else {
        await policy.createNamespacedPodDisruptionBudget({ namespace: ns, body });
      }
      return waitFor(
        async () => {
          const p = await policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: 'web' });
          return p.status?.observedGeneration === p.metadata?.generation && p.status?.expectedPods === 2
            ? p
            : undefined;
        },
        {
          description: 'PDB status computed by the disruption controller',
          timeoutMs: 60_000,
          intervalMs: 250,
        },
      );
    };
    const evict = (name: string) =>
      core
        .createNamespacedPodEviction({
          namespace: ns,
          name,
          body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns } },
        })
        .then(
          () => 201,
          (e: unknown) => (e as { code: number }).code,
        );
    const victim = pods[0]!.metadata!.name!;

    // minAvailable 2 of 2: no disruption allowed, and the Eviction API refuses with 429.
    const strict = await pdbWith(2);
    expect(strict.status?.currentHealthy).toBe(2);
    expect(strict.status?.disruptionsAllowed).toBe(0);
    expect(await evict(victim)).toBe(429);
    expect(
      (await core.readNamespacedPod({ namespace: ns, name: victim })).metadata?.deletionTimestamp,
    ).toBeUndefined();

    // minAvailable 1 of 2: one disruption allowed, and the same eviction now goes through.
    const relaxed = await pdbWith(1);
    expect(relaxed.status?.disruptionsAllowed).toBe(1);
    expect(await evict(victim)).toBe(201);
  });
});
