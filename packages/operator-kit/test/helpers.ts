/** Shared by the integration tests: a client and a namespace on the jest run's control plane. */
import { createTestNamespace, deleteTestNamespace, testKubeConfig } from '@keiko/testkit';
import { Registry } from 'prom-client';
import { KubeClient } from '../src/client/client.js';
import type { KubeObject } from '../src/client/object.js';
import { CoreResources } from '../src/client/resource.js';
import { silentLogger } from '../src/log.js';
import { Manager, type ManagerOptions } from '../src/manager.js';

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export async function testClient(fieldManager = 'operator-kit-test'): Promise<KubeClient> {
  return KubeClient.fromKubeConfig(testKubeConfig(), fieldManager);
}

export async function testNamespace(
  prefix: string,
): Promise<{ namespace: string; cleanup: () => Promise<void> }> {
  const kc = testKubeConfig();
  const namespace = await createTestNamespace(kc, prefix);
  return { namespace, cleanup: () => deleteTestNamespace(kc, namespace) };
}

export async function testManager(options: Partial<ManagerOptions> = {}): Promise<Manager> {
  return Manager.create({
    name: 'operator-kit-test',
    kubeConfig: testKubeConfig(),
    logger: silentLogger(),
    registry: new Registry(),
    ...options,
  });
}

export function configMap(namespace: string, name: string, data: Record<string, string> = {}): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

export const ConfigMaps = CoreResources.configMaps;

/** The value of a counter or gauge sample in a registry. */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  const sample = data.values.find((v) =>
    Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val),
  );
  return sample?.value ?? 0;
}
