/**
 * The reflector against a real API server that goes away: stopped and started again, with etcd
 * compacted meanwhile so resuming the watch gets 410 Gone. Every object created, changed or deleted
 * while the watch was down must be reconciled afterwards. This file runs its own control plane (it
 * restarts the API server, which the shared one must not see).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ControlPlane, loadKubeConfig, waitFor } from '@keiko/testkit';
import { Registry } from 'prom-client';
import { KubeClient } from '../src/client/client.js';
import { silentLogger } from '../src/log.js';
import { Manager } from '../src/manager.js';
import { JitteredBackoff } from '../src/queue/backoff.js';
import { type ConfigMap, ConfigMaps, configMap } from './helpers.js';

let cp: ControlPlane;

beforeAll(async () => {
  cp = await ControlPlane.start({ controllerManager: false, scheduler: false, kwok: false });
});
afterAll(async () => {
  await cp?.stop();
});

describe('reflector', () => {
  test('nothing is missed across an API server restart and a compaction (410 Gone)', async () => {
    const namespace = 'default';
    const client = await KubeClient.fromKubeConfig(cp.kubeConfig(), 'test');
    for (let i = 0; i < 10; i++) await client.create(ConfigMaps, configMap(namespace, `cm-${i}`, { v: '0' }));

    // What the controller last saw for each key: the value of data.v, or 'deleted'.
    const seen = new Map<string, string>();
    const manager = await Manager.create({
      name: 'reflector-test',
      kubeConfig: cp.kubeConfig(),
      logger: silentLogger(),
      registry: new Registry(),
    });
    const controller = manager.controller<ConfigMap>(ConfigMaps, {
      name: 'mirror',
      workers: 2,
      informer: { namespace, backoff: new JitteredBackoff(100, 1_000) },
      reconcile: async ({ name, object }) => {
        seen.set(name, object ? (object.data?.v ?? '') : 'deleted');
      },
    });
    await manager.start();
    await waitFor(() => [...Array(10).keys()].every((i) => seen.get(`cm-${i}`) === '0'), {
      timeoutMs: 10_000,
      description: 'initial objects reconciled',
    });
    const reflector = controller.primary;
    const before = { ...reflector.stats };

    // The API server the controller talks to goes away; changes happen through a second one.
    await cp.stopApiServer();
    const second = await cp.startSecondApiServer();
    const other = await KubeClient.fromKubeConfig(loadKubeConfig(second.kubeconfigPath), 'test');
    for (let i = 0; i < 5; i++) await other.patch(ConfigMaps, `cm-${i}`, namespace, { data: { v: '1' } });
    for (let i = 5; i < 8; i++) await other.delete(ConfigMaps, `cm-${i}`, namespace);
    for (let i = 10; i < 15; i++)
      await other.create(ConfigMaps, configMap(namespace, `cm-${i}`, { v: 'new' }));
    // Compaction: the watch's resourceVersion no longer exists when the controller comes back.
    await cp.compactEtcd();
    await cp.stopSecondApiServer();
    other.transport.close();
    await cp.startApiServer();

    const expected = new Map<string, string>();
    for (let i = 0; i < 5; i++) expected.set(`cm-${i}`, '1');
    for (let i = 5; i < 8; i++) expected.set(`cm-${i}`, 'deleted');
    for (let i = 8; i < 10; i++) expected.set(`cm-${i}`, '0');
    for (let i = 10; i < 15; i++) expected.set(`cm-${i}`, 'new');
    await waitFor(() => [...expected].every(([k, v]) => seen.get(k) === v), {
      timeoutMs: 60_000,
      description: 'every change made while the watch was down reconciled',
    });
    expect(Object.fromEntries([...seen].filter(([k]) => expected.has(k)))).toEqual(
      Object.fromEntries(expected),
    );
    // It did fail and come back, and it had to relist because its version had been compacted.
    expect(reflector.stats.watchErrors).toBeGreaterThan(before.watchErrors);
    expect(reflector.stats.relistsAfterGone).toBeGreaterThan(before.relistsAfterGone);
    expect(reflector.store.size).toBe(12);

    // And the watch works again afterwards.
    await client.patch(ConfigMaps, 'cm-9', namespace, { data: { v: 'after' } });
    await waitFor(() => seen.get('cm-9') === 'after', {
      timeoutMs: 10_000,
      description: 'change after recovery',
    });
    await manager.stop();
    client.transport.close();
  });
});
