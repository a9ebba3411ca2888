import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  ApiError,
  chartIdentity,
  createTestNamespace,
  deleteTestNamespace,
  loadKubeConfig,
  rawRequest,
  renderChart,
  testKubeConfig,
} from '../src/index.js';

const CHART = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'rbac-chart');
const kc = testKubeConfig();
let namespace: string;

beforeAll(async () => {
  namespace = await createTestNamespace(kc, 'testkit-chart');
});
afterAll(async () => {
  await deleteTestNamespace(kc, namespace);
});

describe('charts', () => {
  test('renderChart runs the pinned helm with values', async () => {
    const out = await renderChart(CHART, { releaseName: 'fx', namespace, values: { verbs: ['get'] } });
    expect(out.map((m) => m.kind)).toEqual(['ServiceAccount', 'ConfigMap', 'Role', 'RoleBinding']);
    const role = out.find((m) => m.kind === 'Role') as unknown as { rules: { verbs: string[] }[] };
    expect(role.rules[0]?.verbs).toEqual(['get']);
  });

  test("chartIdentity acts with exactly the chart's permissions", async () => {
    const id = await chartIdentity(kc, CHART, {
      releaseName: 'fx',
      namespace,
      values: { verbs: ['get', 'list'] },
    });
    expect(id.rbac.map((m) => m.kind).sort()).toEqual(['Role', 'RoleBinding', 'ServiceAccount']);
    const sa = loadKubeConfig(id.kubeconfigPath);
    await expect(rawRequest(sa, 'GET', `/api/v1/namespaces/${namespace}/configmaps`)).resolves.toBeDefined();
    const denied = await rawRequest(sa, 'GET', `/api/v1/namespaces/${namespace}/secrets`).catch(
      (e: unknown) => e,
    );
    expect(denied).toBeInstanceOf(ApiError);
    expect((denied as ApiError).code).toBe(403);
    // Only RBAC objects were applied, not the chart's other resources.
    const cm = await rawRequest(kc, 'GET', `/api/v1/namespaces/${namespace}/configmaps/fx-not-applied`).catch(
      (e) => e,
    );
    expect((cm as ApiError).code).toBe(404);
  });
});
