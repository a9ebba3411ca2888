/**
 * OwnVersions against a real API server and a real Reflector: a write this process made is never
 * hidden by a cache that has not caught up, the cached copy is used (no GET) once it has, and a
 * version this process cannot vouch for (first sight, another writer) is read live.
 */
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { waitFor } from '@keiko/testkit';
import type { KubeClient } from '../src/client/client.js';
import { keyOf } from '../src/client/object.js';
import { OwnVersions } from '../src/reflector/own-versions.js';
import { Reflector } from '../src/reflector/reflector.js';
import { type ConfigMap, ConfigMaps, configMap, testClient, testNamespace } from './helpers.js';

let client: KubeClient;
let other: KubeClient;
let ns: Awaited<ReturnType<typeof testNamespace>>;
let reflector: Reflector<ConfigMap>;

beforeAll(async () => {
  client = await testClient('own-versions');
  other = await testClient('someone-else');
  ns = await testNamespace('own-versions');
  reflector = new Reflector<ConfigMap>(client, ConfigMaps, { namespace: ns.namespace });
  reflector.start();
  await reflector.waitForSync();
});
afterAll(async () => {
  await reflector?.stop();
  await ns?.cleanup();
});

const cachedRv = (key: string) => reflector.store.get(key)?.metadata.resourceVersion;

test('the cached copy only when it is the version this process last wrote or read', async () => {
  const created = await client.create(ConfigMaps, configMap(ns.namespace, 'cm', { v: '0' }));
  const key = keyOf(created);
  await waitFor(() => cachedRv(key) === created.metadata.resourceVersion, { description: 'cm cached' });
  const versions = new OwnVersions();
  const gets = jest.spyOn(client, 'getOrUndefined');

  // First sight: a version nobody vouched for is read live once, then the cache is trusted.
  const first = await versions.current(client, ConfigMaps, key, reflector.store.get(key)!);
  expect(gets).toHaveBeenCalledTimes(1);
  expect(first?.data).toEqual({ v: '0' });
  const cached = reflector.store.get(key)!;
  expect(await versions.current(client, ConfigMaps, key, cached)).toBe(cached);
  expect(gets).toHaveBeenCalledTimes(1);

  // Our own write: until the watch delivers it, the cached copy is older, and current() reads live.
  // (The copy is taken before the write, so it is older whatever the watch does meanwhile.)
  const stale = reflector.store.get(key)!;
  const written = await client.patch<ConfigMap>(ConfigMaps, 'cm', ns.namespace, { data: { v: '1' } });
  versions.remember(key, written);
  const seen = await versions.current(client, ConfigMaps, key, stale);
  expect(seen?.data).toEqual({ v: '1' });
  expect(seen?.metadata.resourceVersion).toBe(written.metadata.resourceVersion);
  // Once the cache shows it, the cached copy is used without a GET.
  await waitFor(() => cachedRv(key) === written.metadata.resourceVersion, { description: 'write cached' });
  gets.mockClear();
  const caught = reflector.store.get(key)!;
  expect(await versions.current(client, ConfigMaps, key, caught)).toBe(caught);
  expect(gets).not.toHaveBeenCalled();

  // Someone else writes: the cache's version is not ours, so it is read live (and then trusted).
  const theirs = await other.patch<ConfigMap>(ConfigMaps, 'cm', ns.namespace, { data: { v: '2' } });
  await waitFor(() => cachedRv(key) === theirs.metadata.resourceVersion, {
    description: 'their write cached',
  });
  const after = await versions.current(client, ConfigMaps, key, reflector.store.get(key)!);
  expect(gets).toHaveBeenCalledTimes(1);
  expect(after?.data).toEqual({ v: '2' });
  expect(versions.version(key)).toBe(theirs.metadata.resourceVersion);

  // Deleted while the cache still holds it: undefined, and the key is forgotten.
  const last = reflector.store.get(key)!;
  await other.delete(ConfigMaps, 'cm', ns.namespace);
  versions.remember(key, '1'); // any version other than the cached one forces the live read
  expect(await versions.current(client, ConfigMaps, key, last)).toBeUndefined();
  expect(versions.version(key)).toBeUndefined();
  gets.mockRestore();
});
