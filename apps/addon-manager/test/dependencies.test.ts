/**
 * Dependencies between Addons, resolved from the API (the informer cache of every managed
 * namespace), with real Argo running the workflows. Nothing polls: a dependent wakes up when its
 * dependency's phase changes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeClient } from '@keiko/operator-kit';
import { Addons } from '../src/api/addon.js';
import {
  addon,
  condition,
  createInstallerServiceAccount,
  getAddon,
  installed,
  type RunningController,
  startController,
  testWorld,
  waitForAddon,
  workflowsOf,
} from './support.js';

let world: Awaited<ReturnType<typeof testWorld>>;
let client: KubeClient;
let ns: string;
let other: string;
let controller: RunningController;

beforeAll(async () => {
  world = await testWorld('addon-deps', 2);
  ({ client, namespace: ns } = world);
  other = world.namespaces[1]!;
  for (const n of world.namespaces) await createInstallerServiceAccount(client, n);
  // Two managed namespaces: dependencies resolve across them.
  controller = await startController(world.namespaces);
}, 60_000);

afterAll(async () => {
  await controller?.stop();
  await world?.cleanup();
});

describe('Addon dependencies', () => {
  it('waits with DependenciesMet=False while a dependency is missing, and installs once it succeeds', async () => {
    await client.create(Addons, addon(ns, 'ingress', { deps: { 'core-dns': '>=v1.2.0, <v2' } }));
    const waiting = await waitForAddon(
      client,
      ns,
      'ingress',
      (a) => condition(a, 'DependenciesMet')?.status === 'False',
      'DependenciesMet=False',
    );
    expect(condition(waiting, 'DependenciesMet')).toMatchObject({
      reason: 'DependencyMissing',
      message: 'core-dns is not installed',
    });
    expect(waiting.status?.lifecycle?.installed).toBe('Validation Failed');
    expect(waiting.status?.reason).toContain('core-dns is not installed');
    expect(await workflowsOf(client, waiting)).toHaveLength(0);

    // A version that does not match: still blocked, and the message names what was found.
    await client.create(Addons, addon(other, 'dns-old', { pkgName: 'core-dns', pkgVersion: 'v1.1.0' }));
    const mismatch = await waitForAddon(
      client,
      ns,
      'ingress',
      (a) => condition(a, 'DependenciesMet')?.message.includes('found v1.1.0') ?? false,
      'mismatch reported',
    );
    expect(mismatch.status?.lifecycle?.installed).toBe('Validation Failed');

    // Invariant, sampled for the whole wait: the dependent has no workflow while its dependency has
    // not Succeeded.
    const violations: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const dep = await getAddon(client, other, 'dns');
        const dependent = await getAddon(client, ns, 'ingress');
        const depDone = dep?.status?.lifecycle?.installed === 'Succeeded';
        if (dependent && !depDone && (await workflowsOf(client, dependent)).length > 0) {
          violations.push(`ingress has workflows while dns is ${dep?.status?.lifecycle?.installed}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    // The dependency appears in the other namespace with a matching version (slow prereqs so the
    // dependent is seen waiting on a dependency that exists but has not succeeded).
    await client.create(
      Addons,
      addon(other, 'dns', { pkgName: 'core-dns', pkgVersion: 'v1.4.2', prereqs: { delay: '2s' } }),
    );
    const pending = await waitForAddon(
      client,
      ns,
      'ingress',
      (a) => condition(a, 'DependenciesMet')?.reason === 'DependencyNotReady',
      'DependencyNotReady',
    );
    expect(pending.status?.lifecycle?.installed).toBe('Pending');
    expect(await workflowsOf(client, pending)).toHaveLength(0);

    const done = await waitForAddon(
      client,
      ns,
      'ingress',
      installed('Succeeded'),
      'Succeeded once core-dns succeeded',
    );
    sampling = false;
    await sampler;
    expect(violations).toEqual([]);
    expect(condition(done, 'DependenciesMet')?.status).toBe('True');
    const dns = await waitForAddon(client, other, 'dns', installed('Succeeded'), 'dns Succeeded');
    // The dependent's first workflow was created after the dependency succeeded.
    const dependentStart = Math.min(
      ...(await workflowsOf(client, done)).map((w) => Date.parse(w.metadata.creationTimestamp!)),
    );
    const dependencyEnd = Math.max(
      ...(await workflowsOf(client, dns)).map((w) =>
        Date.parse(w.status?.finishedAt ?? w.metadata.creationTimestamp!),
      ),
    );
    expect(dependentStart).toBeGreaterThanOrEqual(dependencyEnd - 1000);
  });

  it('reports a dependency cycle and runs nothing', async () => {
    await client.create(Addons, addon(ns, 'cyc-a', { pkgName: 'cyc-a', deps: { 'cyc-b': '*' } }));
    await client.create(Addons, addon(ns, 'cyc-b', { pkgName: 'cyc-b', deps: { 'cyc-c': '*' } }));
    await client.create(Addons, addon(other, 'cyc-c', { pkgName: 'cyc-c', deps: { 'cyc-a': '*' } }));
    const a = await waitForAddon(
      client,
      ns,
      'cyc-a',
      (x) => condition(x, 'DependenciesMet')?.reason === 'Cycle',
      'cycle reported',
    );
    expect(condition(a, 'DependenciesMet')?.message).toBe(
      'circular dependency: cyc-a -> cyc-b -> cyc-c -> cyc-a',
    );
    expect(a.status?.lifecycle?.installed).toBe('Validation Failed');
    expect(a.status?.reason).toBe('circular dependency: cyc-a -> cyc-b -> cyc-c -> cyc-a');
    expect(await workflowsOf(client, a)).toHaveLength(0);
  });

  it('a self-dependency is a cycle', async () => {
    await client.create(Addons, addon(ns, 'selfish', { deps: { selfish: '*' } }));
    const a = await waitForAddon(
      client,
      ns,
      'selfish',
      (x) => condition(x, 'DependenciesMet')?.reason === 'Cycle',
      'cycle',
    );
    expect(a.status?.reason).toBe('circular dependency: selfish -> selfish');
  });
});
