/**
 * The smallest end-to-end proof that a cluster is usable by the suite: it serves the API, runs the
 * namespace lifecycle (kube-controller-manager finalizes a deleted namespace) and keeps custom
 * resources. Against the local control plane and against kind alike.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestNamespace, installCrds, testKubeConfig, uniqueName, waitFor } from '@keiko/testkit';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';

let kc: KubeConfig;
beforeAll(() => {
  kc = testKubeConfig();
});

describe('cluster smoke', () => {
  it('finalizes a deleted namespace together with its objects', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const ns = await createTestNamespace(kc, 'e2e-smoke');
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x' } } });
    await core.deleteNamespace({ name: ns });
    await waitFor(
      async () => {
        try {
          await core.readNamespace({ name: ns });
          return false;
        } catch (err) {
          return (err as { code?: number }).code === 404;
        }
      },
      { description: `namespace ${ns} to be finalized`, timeoutMs: 60_000, intervalMs: 250 },
    );
  });

  describe('custom resources', () => {
    const plural = `probes${uniqueName('x').slice(-6)}`;
    const name = `${plural}.e2e.keiko.dev`;
    afterAll(async () => {
      await kc.makeApiClient(ApiextensionsV1Api).deleteCustomResourceDefinition({ name });
    });

    it('stores a custom object through a freshly installed CRD', async () => {
      await installCrds(
        kc,
        `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: ${name} }
spec:
  group: e2e.keiko.dev
  scope: Cluster
  names: { plural: ${plural}, kind: P${plural} }
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, properties: { spec: { type: object, properties: { n: { type: integer } } } } } }
`,
      );
      const objects = kc.makeApiClient(CustomObjectsApi);
      await objects.createClusterCustomObject({
        group: 'e2e.keiko.dev',
        version: 'v1',
        plural,
        body: {
          apiVersion: 'e2e.keiko.dev/v1',
          kind: `P${plural}`,
          metadata: { name: 'one' },
          spec: { n: 7 },
        },
      });
      const got = (await objects.getClusterCustomObject({
        group: 'e2e.keiko.dev',
        version: 'v1',
        plural,
        name: 'one',
      })) as { spec: { n: number } };
      expect(got.spec.n).toBe(7);
    });
  });
});
