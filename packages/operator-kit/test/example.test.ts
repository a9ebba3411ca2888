/**
 * The README's example controller, run in-process against the real API server, plus the ops server
 * it would expose in a pod.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { waitFor } from '@keiko/testkit';
import {
  configMapMirror,
  ENABLED_LABEL,
  FINALIZER,
  TARGET_ANNOTATION,
} from '../examples/configmap-mirror.js';
import type { KubeClient } from '../src/client/client.js';
import type { KubeObject } from '../src/client/object.js';
import { CoreResources } from '../src/client/resource.js';
import type { Manager } from '../src/manager.js';
import {
  type ConfigMap,
  ConfigMaps,
  metricValue,
  testClient,
  testManager,
  testNamespace,
} from './helpers.js';

let client: KubeClient;
let source: string;
let target: string;
const cleanups: (() => Promise<void>)[] = [];
let manager: Manager;

beforeAll(async () => {
  client = await testClient();
  for (const prefix of ['opkit-mirror-src', 'opkit-mirror-dst']) {
    const ns = await testNamespace(prefix);
    cleanups.push(ns.cleanup);
    if (prefix.endsWith('src')) source = ns.namespace;
    else target = ns.namespace;
  }
  manager = await testManager({ name: 'configmap-mirror', opsPort: 0, opsHost: '127.0.0.1' });
  configMapMirror(manager);
  await manager.start();
});
afterAll(async () => {
  await manager.stop();
  for (const c of cleanups) await c();
  client.transport.close();
});

const sourceCm = (
  name: string,
  data: Record<string, string>,
  annotations: Record<string, string>,
): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: source, labels: { [ENABLED_LABEL]: 'true' }, annotations },
  data,
});

describe('example: configmap-mirror', () => {
  test('mirrors, follows changes, heals a deleted copy, cleans up on delete', async () => {
    await client.create(ConfigMaps, sourceCm('settings', { a: '1' }, { [TARGET_ANNOTATION]: target }));
    const copyName = `${source}.settings`;
    const copy = () => client.getOrUndefined<ConfigMap>(ConfigMaps, copyName, target);
    await waitFor(async () => (await copy())?.data?.a === '1', {
      timeoutMs: 10_000,
      description: 'copy created',
    });
    expect((await client.get<ConfigMap>(ConfigMaps, 'settings', source)).metadata.finalizers).toEqual([
      FINALIZER,
    ]);

    await client.patch(ConfigMaps, 'settings', source, { data: { a: '2', b: '3' } });
    await waitFor(async () => (await copy())?.data?.b === '3', {
      timeoutMs: 10_000,
      description: 'copy updated',
    });

    await client.delete(ConfigMaps, copyName, target);
    await waitFor(async () => (await copy())?.data?.a === '2', {
      timeoutMs: 10_000,
      description: 'copy healed',
    });

    await client.delete(ConfigMaps, 'settings', source);
    await waitFor(
      async () => !(await copy()) && !(await client.getOrUndefined(ConfigMaps, 'settings', source)),
      {
        timeoutMs: 10_000,
        description: 'copy and source gone',
      },
    );
  });

  test('a missing target is a terminal error with a Warning event, not a retry loop', async () => {
    await client.create(ConfigMaps, sourceCm('orphan', { a: '1' }, {}));
    const events = async () =>
      (
        await client.list<KubeObject & { reason?: string; regarding?: { name?: string } }>(
          CoreResources.events,
          {
            namespace: source,
          },
        )
      ).items.filter((e) => e.regarding?.name === 'orphan');
    await waitFor(async () => (await events()).some((e) => e.reason === 'NoTarget'), {
      timeoutMs: 10_000,
      description: 'NoTarget event',
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(
      await metricValue(manager.registry, 'controller_runtime_terminal_reconcile_errors_total', {
        controller: 'configmap-mirror',
      }),
    ).toBe(1);
  });

  test('ops server: healthz, readyz, and metrics under controller-runtime names', async () => {
    const base = `http://127.0.0.1:${manager.opsPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const name of [
      'controller_runtime_reconcile_total{controller="configmap-mirror",result="success"}',
      'controller_runtime_reconcile_errors_total{controller="configmap-mirror"}',
      'controller_runtime_reconcile_time_seconds_bucket',
      'workqueue_depth{name="configmap-mirror",controller="configmap-mirror"}',
      'workqueue_adds_total{name="configmap-mirror",controller="configmap-mirror"}',
      'workqueue_retries_total{name="configmap-mirror",controller="configmap-mirror"}',
      'controller_runtime_max_concurrent_reconciles{controller="configmap-mirror"} 2',
    ]) {
      expect(metrics).toContain(name);
    }
  });
});
