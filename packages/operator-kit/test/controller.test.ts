/**
 * The reconcile loop against the real API server: dedupe under bursts, per-key exclusivity, concurrency
 * across keys, error backoff, terminal errors and exceptions that never take the process down.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { waitFor } from '@keiko/testkit';
import type { KubeClient } from '../src/client/client.js';
import { TerminalError } from '../src/reconcile.js';
import {
  type ConfigMap,
  ConfigMaps,
  configMap,
  metricValue,
  testClient,
  testManager,
  testNamespace,
} from './helpers.js';

let client: KubeClient;
let namespace: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  client = await testClient();
  ({ namespace, cleanup } = await testNamespace('opkit-controller'));
});
afterAll(async () => {
  await cleanup();
  client.transport.close();
});

describe('controller', () => {
  test('1,000 updates to one object: far fewer reconciles, never two at once for it, the last state seen', async () => {
    const name = 'burst';
    await client.create(ConfigMaps, configMap(namespace, name, { n: '0' }));
    const manager = await testManager();
    let running = 0;
    let maxRunning = 0;
    let reconciles = 0;
    let lastSeen = -1;
    manager.controller<ConfigMap>(ConfigMaps, {
      name: 'burst',
      workers: 4,
      informer: { namespace, fieldSelector: `metadata.name=${name}` },
      reconcile: async ({ object }) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        reconciles++;
        await new Promise((r) => setTimeout(r, 100));
        lastSeen = Number(object?.data?.n ?? -1);
        running--;
      },
    });
    await manager.start();
    const updates = 1000;
    // 8 writers in parallel, each a merge patch of a counter: the API server serialises them.
    let next = 1;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next <= updates) {
          const n = next++;
          await client.patch(ConfigMaps, name, namespace, { data: { [`k${n % 50}`]: String(n) } });
        }
      }),
    );
    await client.patch(ConfigMaps, name, namespace, { data: { n: String(updates) } });
    await waitFor(() => lastSeen === updates, {
      timeoutMs: 30_000,
      description: 'the final state reconciled',
    });
    await manager.stop();
    expect(maxRunning).toBe(1);
    expect(reconciles).toBeGreaterThan(1);
    // Each reconcile takes 100 ms, so at most ~10 per second can run whatever the update rate; the rest
    // of the updates fold into the key already waiting.
    expect(reconciles).toBeLessThan(updates / 4);
    console.log(`burst: ${updates + 1} updates -> ${reconciles} reconciles`);
  });

  test('different keys reconcile concurrently, up to the worker count', async () => {
    const manager = await testManager();
    let running = 0;
    let maxRunning = 0;
    const done = new Set<string>();
    manager.controller<ConfigMap>(ConfigMaps, {
      name: 'concurrency',
      workers: 3,
      informer: { namespace, labelSelector: 'test=concurrency' },
      reconcile: async ({ name }) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 150));
        running--;
        done.add(name);
      },
    });
    await manager.start();
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        client.create(ConfigMaps, {
          ...configMap(namespace, `c${i}`),
          metadata: { name: `c${i}`, namespace, labels: { test: 'concurrency' } },
        }),
      ),
    );
    await waitFor(() => done.size === 12, { timeoutMs: 20_000, description: '12 keys reconciled' });
    await manager.stop();
    expect(maxRunning).toBe(3);
  });

  test('errors retry with growing backoff; TerminalError and success stop retries; exceptions are counted', async () => {
    const manager = await testManager();
    const attempts = new Map<string, number[]>();
    manager.controller<ConfigMap>(ConfigMaps, {
      name: 'errors',
      informer: { namespace, labelSelector: 'test=errors' },
      queue: { baseDelayMs: 50 },
      reconcile: async ({ name }) => {
        const times = attempts.get(name) ?? [];
        times.push(Date.now());
        attempts.set(name, times);
        if (name === 'flaky' && times.length < 5) throw new Error('transient');
        if (name === 'terminal') throw new TerminalError('spec is invalid');
        if (name === 'bug') {
          const broken = undefined as unknown as { x: number };
          return { requeueAfter: broken.x }; // TypeError: a programming error
        }
      },
    });
    await manager.start();
    for (const name of ['flaky', 'terminal', 'bug']) {
      await client.create(ConfigMaps, {
        ...configMap(namespace, name),
        metadata: { name, namespace, labels: { test: 'errors' } },
      });
    }
    await waitFor(
      () => (attempts.get('flaky')?.length ?? 0) >= 5 && (attempts.get('bug')?.length ?? 0) >= 3,
      {
        timeoutMs: 20_000,
        description: 'retries',
      },
    );
    await new Promise((r) => setTimeout(r, 1_500));
    const flaky = attempts.get('flaky') ?? [];
    expect(flaky).toHaveLength(5); // succeeded on the 5th attempt, then no more
    const gaps = flaky.slice(1).map((t, i) => t - (flaky[i] as number));
    // 50, 100, 200, 400 ms: each gap at least the backoff, and growing
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[3]).toBeGreaterThanOrEqual(395);
    expect(gaps[3]).toBeGreaterThan(gaps[0] as number);
    expect(attempts.get('terminal')).toHaveLength(1);
    const labels = { controller: 'errors' };
    expect(
      await metricValue(manager.registry, 'controller_runtime_terminal_reconcile_errors_total', labels),
    ).toBe(1);
    expect(
      await metricValue(manager.registry, 'controller_runtime_reconcile_panics_total', labels),
    ).toBeGreaterThanOrEqual(3);
    expect(
      await metricValue(manager.registry, 'controller_runtime_reconcile_errors_total', labels),
    ).toBeGreaterThanOrEqual(4 + 1 + 3);
    expect(
      await metricValue(manager.registry, 'controller_runtime_reconcile_total', {
        controller: 'errors',
        result: 'success',
      }),
    ).toBe(1);
    // The process is alive and the controller still works after all that.
    await client.create(ConfigMaps, {
      ...configMap(namespace, 'after'),
      metadata: { name: 'after', namespace, labels: { test: 'errors' } },
    });
    await waitFor(() => attempts.has('after'), {
      timeoutMs: 10_000,
      description: 'reconcile after failures',
    });
    await manager.stop();
  });

  test('requeueAfter reconciles again without any change', async () => {
    const manager = await testManager();
    const times: number[] = [];
    manager.controller<ConfigMap>(ConfigMaps, {
      name: 'requeue',
      informer: { namespace, fieldSelector: 'metadata.name=poll' },
      reconcile: async () => {
        times.push(Date.now());
        return { requeueAfter: 300 };
      },
    });
    await client.create(ConfigMaps, configMap(namespace, 'poll'));
    await manager.start();
    await waitFor(() => times.length >= 3, { timeoutMs: 10_000, description: 'three polls' });
    await manager.stop();
    expect((times[2] as number) - (times[1] as number)).toBeGreaterThanOrEqual(290);
  });

  test('owned objects trigger their owner; mapped triggers reach the mapped key', async () => {
    const manager = await testManager();
    const seen: string[] = [];
    const c = manager.controller<ConfigMap>(ConfigMaps, {
      name: 'triggers',
      informer: { namespace, labelSelector: 'role=parent' },
      reconcile: async ({ name }) => {
        seen.push(name);
      },
    });
    c.owns(manager.informer<ConfigMap>(ConfigMaps, { namespace, labelSelector: 'role=child' }));
    c.watches(manager.informer<ConfigMap>(ConfigMaps, { namespace, labelSelector: 'role=pointer' }), (o) => [
      `${namespace}/${o.data?.target}`,
    ]);
    const parent = await client.create<ConfigMap>(ConfigMaps, {
      ...configMap(namespace, 'parent'),
      metadata: { name: 'parent', namespace, labels: { role: 'parent' } },
    });
    await manager.start();
    await waitFor(() => seen.length === 1, { timeoutMs: 10_000, description: 'initial reconcile' });
    await client.create(ConfigMaps, {
      ...configMap(namespace, 'child'),
      metadata: {
        name: 'child',
        namespace,
        labels: { role: 'child' },
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: 'parent',
            uid: parent.metadata.uid as string,
            controller: true,
          },
        ],
      },
    });
    await waitFor(() => seen.length === 2, {
      timeoutMs: 10_000,
      description: 'owner reconciled for its child',
    });
    await client.create(ConfigMaps, {
      ...configMap(namespace, 'pointer', { target: 'parent' }),
      metadata: { name: 'pointer', namespace, labels: { role: 'pointer' } },
    });
    await waitFor(() => seen.length === 3, { timeoutMs: 10_000, description: 'mapped trigger' });
    await manager.stop();
    expect(seen).toEqual(['parent', 'parent', 'parent']);
  });
});
