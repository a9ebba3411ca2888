/**
 * Client helpers against the real API server: finalizers (deletion waits for cleanup, failed cleanup is
 * retried, other finalizers are left alone), status through the status subresource with condition
 * semantics and observedGeneration, and the events.k8s.io/v1 recorder's series dedupe.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { installCrds, testKubeConfig, waitFor } from '@keiko/testkit';
import type { KubeClient } from '../src/client/client.js';
import { ConflictError, isNotFound } from '../src/client/errors.js';
import type { KubeObject } from '../src/client/object.js';
import { CoreResources, type Resource } from '../src/client/resource.js';
import { type Condition, setCondition } from '../src/conditions.js';
import { Recorder } from '../src/events/recorder.js';
import { addFinalizer, removeFinalizer, withFinalizer } from '../src/finalizer.js';
import { type ConfigMap, ConfigMaps, configMap, testClient, testManager, testNamespace } from './helpers.js';

let client: KubeClient;
let namespace: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  client = await testClient();
  ({ namespace, cleanup } = await testNamespace('opkit-runtime'));
});
afterAll(async () => {
  await cleanup();
  client.transport.close();
});

describe('finalizers', () => {
  test('adding or removing a finalizer on a stale copy is a ConflictError (re-read and retry), not Invalid', async () => {
    const fresh = await client.create(ConfigMaps, configMap(namespace, 'stale-finalizer', { v: '0' }));
    await client.patch(ConfigMaps, 'stale-finalizer', namespace, { data: { v: '1' } });
    // No finalizers yet: the add is guarded by the resourceVersion the caller read.
    const err = await addFinalizer(client, ConfigMaps, fresh, 'test.keiko.dev/a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).message).toContain('stale-finalizer');
    // Guarded by the list (add) and by the entry at an index (remove): on an older copy, conflicts too.
    const live = await addFinalizer(
      client,
      ConfigMaps,
      await client.get<ConfigMap>(ConfigMaps, 'stale-finalizer', namespace),
      'test.keiko.dev/a',
    );
    const mine = await addFinalizer(client, ConfigMaps, live, 'test.keiko.dev/b');
    await expect(addFinalizer(client, ConfigMaps, live, 'test.keiko.dev/c')).rejects.toBeInstanceOf(
      ConflictError,
    );
    await removeFinalizer(client, ConfigMaps, mine, 'test.keiko.dev/a');
    await expect(removeFinalizer(client, ConfigMaps, mine, 'test.keiko.dev/b')).rejects.toBeInstanceOf(
      ConflictError,
    );
    const current = await client.get<ConfigMap>(ConfigMaps, 'stale-finalizer', namespace);
    expect(current.metadata.finalizers).toEqual(['test.keiko.dev/b']);
    await removeFinalizer(client, ConfigMaps, current, 'test.keiko.dev/b');
  });

  test('deletion waits for cleanup; failed cleanup is retried; only our finalizer is removed', async () => {
    const FINALIZER = 'test.keiko.dev/cleanup';
    const OTHER = 'someone.else/keep';
    let cleanupAttempts = 0;
    let cleanedUp = false;
    const manager = await testManager();
    manager.controller<ConfigMap>(ConfigMaps, {
      name: 'finalizer',
      informer: { namespace, labelSelector: 'test=finalizer' },
      queue: { baseDelayMs: 100 },
      reconcile: async ({ object }, { client: c }) => {
        if (!object) return;
        return withFinalizer(c, ConfigMaps, object, FINALIZER, {
          apply: async () => {},
          cleanup: async () => {
            cleanupAttempts++;
            if (cleanupAttempts < 3) throw new Error('external system unavailable');
            cleanedUp = true;
          },
        });
      },
    });
    await manager.start();
    await client.create(ConfigMaps, {
      ...configMap(namespace, 'guarded'),
      metadata: { name: 'guarded', namespace, labels: { test: 'finalizer' }, finalizers: [OTHER] },
    });
    await waitFor(
      async () =>
        (await client.get<ConfigMap>(ConfigMaps, 'guarded', namespace)).metadata.finalizers?.includes(
          FINALIZER,
        ),
      { timeoutMs: 10_000, description: 'finalizer added' },
    );
    const withBoth = await client.get<ConfigMap>(ConfigMaps, 'guarded', namespace);
    expect(withBoth.metadata.finalizers).toEqual([OTHER, FINALIZER]);

    await client.delete(ConfigMaps, 'guarded', namespace);
    // While cleanup fails, the object stays, marked for deletion, with our finalizer on it.
    await waitFor(() => cleanupAttempts >= 1, { timeoutMs: 10_000, description: 'first cleanup attempt' });
    const pending = await client.get<ConfigMap>(ConfigMaps, 'guarded', namespace);
    expect(pending.metadata.deletionTimestamp).toBeDefined();
    expect(pending.metadata.finalizers).toContain(FINALIZER);
    await waitFor(
      async () => {
        const o = await client.get<ConfigMap>(ConfigMaps, 'guarded', namespace);
        return !o.metadata.finalizers?.includes(FINALIZER);
      },
      { timeoutMs: 15_000, description: 'our finalizer removed after cleanup succeeded' },
    );
    expect(cleanupAttempts).toBe(3);
    expect(cleanedUp).toBe(true);
    const after = await client.get<ConfigMap>(ConfigMaps, 'guarded', namespace);
    expect(after.metadata.finalizers).toEqual([OTHER]); // the other owner's finalizer is untouched
    await client.patch(ConfigMaps, 'guarded', namespace, { metadata: { finalizers: null } });
    await waitFor(async () => !(await client.getOrUndefined(ConfigMaps, 'guarded', namespace)), {
      timeoutMs: 10_000,
      description: 'object gone',
    });
    await manager.stop();
  });
});

interface Widget extends KubeObject {
  spec: { size: number };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

const Widgets: Resource = {
  group: 'opkit.test.keiko.dev',
  version: 'v1',
  plural: 'widgets',
  kind: 'Widget',
  namespaced: true,
};

describe('status and conditions', () => {
  beforeAll(async () => {
    await installCrds(
      testKubeConfig(),
      `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.opkit.test.keiko.dev
spec:
  group: opkit.test.keiko.dev
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
    - name: v1
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties: { size: { type: integer } }
            status:
              type: object
              x-kubernetes-preserve-unknown-fields: true
`,
    );
  });

  test('observedGeneration follows the spec; lastTransitionTime moves only on a status change', async () => {
    const manager = await testManager();
    manager.controller<Widget>(Widgets, {
      name: 'widgets',
      informer: { namespace },
      reconcile: async ({ object }, { client: c }) => {
        if (!object) return;
        const ok = object.spec.size <= 10;
        const conditions = setCondition(
          object.status?.conditions,
          {
            type: 'Ready',
            status: ok ? 'True' : 'False',
            reason: ok ? 'Sized' : 'TooBig',
            message: `size ${object.spec.size}`,
          },
          object.metadata.generation,
        );
        await c.applyStatus(Widgets, {
          apiVersion: 'opkit.test.keiko.dev/v1',
          kind: 'Widget',
          metadata: { name: object.metadata.name, namespace: object.metadata.namespace },
          status: { observedGeneration: object.metadata.generation, conditions },
        });
      },
    });
    await manager.start();
    await client.create<Widget>(Widgets, {
      apiVersion: 'opkit.test.keiko.dev/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace },
      spec: { size: 1 },
    });
    const observed = async (generation: number, message: string) =>
      waitFor(
        async () => {
          const w = await client.get<Widget>(Widgets, 'w', namespace);
          const ready = w.status?.conditions?.find((c) => c.type === 'Ready');
          return w.status?.observedGeneration === generation && ready?.message === message
            ? ready
            : undefined;
        },
        { timeoutMs: 10_000, description: `generation ${generation} observed` },
      );
    const first = await observed(1, 'size 1');
    expect(first).toMatchObject({ status: 'True', reason: 'Sized', observedGeneration: 1 });
    await new Promise((r) => setTimeout(r, 1_100)); // timestamps have one-second resolution
    await client.patch(Widgets, 'w', namespace, { spec: { size: 2 } });
    const second = await observed(2, 'size 2');
    expect(second.lastTransitionTime).toBe(first.lastTransitionTime); // still True
    await new Promise((r) => setTimeout(r, 1_100));
    await client.patch(Widgets, 'w', namespace, { spec: { size: 20 } });
    const third = await observed(3, 'size 20');
    expect(third).toMatchObject({ status: 'False', reason: 'TooBig', observedGeneration: 3 });
    expect(third.lastTransitionTime).not.toBe(first.lastTransitionTime);
    await manager.stop();
  });
});

describe('events', () => {
  test('repeats become a series on one Event; a different reason is a new Event', async () => {
    const cm = await client.create<ConfigMap>(ConfigMaps, configMap(namespace, 'evented'));
    const recorder = new Recorder(client, 'keikoproj.io/test', 'test-pod');
    for (let i = 0; i < 3; i++) {
      await recorder.event(cm, {
        type: 'Warning',
        reason: 'DrainFailed',
        action: 'Drain',
        note: 'pdb blocks eviction',
      });
    }
    await recorder.event(cm, { type: 'Normal', reason: 'Drained', action: 'Drain', note: 'done' });
    const list = await client.list<
      KubeObject & { reason?: string; series?: { count: number }; regarding?: { uid?: string } }
    >(CoreResources.events, { namespace });
    const mine = list.items.filter((e) => e.regarding?.uid === cm.metadata.uid);
    expect(mine.map((e) => e.reason).sort()).toEqual(['DrainFailed', 'Drained']);
    expect(mine.find((e) => e.reason === 'DrainFailed')?.series?.count).toBe(3);
    expect(mine.find((e) => e.reason === 'Drained')?.series).toBeUndefined();
  });

  test('an object with a 253-character name gets its event (the event name is cut to fit)', async () => {
    const long = `${'a'.repeat(120)}.${'b'.repeat(114)}-${'c'.repeat(17)}`;
    expect(long).toHaveLength(253);
    const cm = await client.create<ConfigMap>(ConfigMaps, configMap(namespace, long));
    await new Recorder(client, 'keikoproj.io/test', 'test-pod').event(cm, {
      type: 'Normal',
      reason: 'Long',
      action: 'Test',
    });
    const list = await client.list<KubeObject & { reason?: string; regarding?: { uid?: string } }>(
      CoreResources.events,
      { namespace },
    );
    const [event] = list.items.filter((e) => e.regarding?.uid === cm.metadata.uid);
    expect(event?.reason).toBe('Long');
    expect(event!.metadata.name!.length).toBeLessThanOrEqual(253);
    // Cut right after the `-`, which is dropped: the prefix ends in an alphanumeric.
    expect(event!.metadata.name).toMatch(/^a{120}\.b{114}\.[0-9a-f]{16}$/);
  });

  test('a failing event write never throws', async () => {
    const recorder = new Recorder(client, 'keikoproj.io/test', 'test-pod');
    const ghost: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'no-such-namespace-xyz' },
    };
    await expect(
      recorder.event(ghost, { type: 'Normal', reason: 'R', action: 'A' }),
    ).resolves.toBeUndefined();
    const err = await client.get(ConfigMaps, 'x', 'no-such-namespace-xyz').catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
  });
});
