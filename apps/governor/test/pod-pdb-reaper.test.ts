/**
 * pod-reaper and pdb-reaper on the real control plane, in-process with an injected clock:
 * - a pod stuck Terminating (a finalizer nothing removes, on a node that is gone) is force-deleted; a
 *   same-named pod in another namespace and a stuck pod in an opted-out namespace are left alone;
 * - an overlapping PDB pair is reduced to one, the deleted one's manifest is kept in a ConfigMap and
 *   restores it; events land on the PDB;
 * - `--dry-run` on the same fixtures prints the plan and changes nothing;
 * - a run that finds the Lease held by a live holder does nothing.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { KubeClient } from '@keiko/operator-kit';
import { createTestNamespace } from '@keiko/testkit';
import { parseConfig } from '../src/config.js';
import { type Pod, type PodDisruptionBudget, Resources } from '../src/kube.js';
import { backupName } from '../src/pdb/execute.js';
import { runReaper } from '../src/run/run.js';
import { kc, kubeClient, runContext } from './support.js';

let client: KubeClient;
let stuckNs: string;
let otherNs: string;
let optedOutNs: string;
let pdbNs: string;
let govNs: string;

beforeAll(async () => {
  client = await kubeClient();
  const names = await Promise.all(
    ['gov-stuck', 'gov-other', 'gov-optout', 'gov-pdb', 'gov-system'].map((p) => createTestNamespace(kc, p)),
  );
  [stuckNs, otherNs, optedOutNs, pdbNs, govNs] = names as [string, string, string, string, string];
  await client.patch(Resources.namespaces, optedOutNs, undefined, {
    metadata: { annotations: { 'governor.keikoproj.io/disable-stuck-pod-reap': 'true' } },
  });
});

afterAll(() => client?.transport.close());

const podBody = (
  name: string,
  namespace: string,
  extra: { nodeName?: string; labels?: Record<string, string>; finalizers?: string[] } = {},
) =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      ...(extra.labels ? { labels: extra.labels } : {}),
      ...(extra.finalizers ? { finalizers: extra.finalizers } : {}),
    },
    spec: {
      ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
      containers: [{ name: 'app', image: 'app' }],
    },
  }) as Pod;

async function stuckPod(name: string, namespace: string): Promise<Pod> {
  const pod = await client.create<Pod>(
    Resources.pods,
    podBody(name, namespace, {
      nodeName: 'ip-10-250-0-1.gone.internal',
      finalizers: ['keiko.dev/never-removed'],
    }),
  );
  await client.delete(Resources.pods, name, namespace);
  const after = await client.get<Pod>(Resources.pods, name, namespace);
  expect(after.metadata.deletionTimestamp).toBeDefined();
  return pod;
}

test('a pod stuck Terminating on a gone node is force-deleted; dry-run first changes nothing', async () => {
  const stuck = await stuckPod('web', stuckNs);
  const optedOut = await stuckPod('web', optedOutNs);
  const sameName = await client.create<Pod>(Resources.pods, podBody('web', otherNs));

  const argv = ['--reap-after=10', `--lock-namespace=${govNs}`];
  const plan = async (namespace: string, dryRun: boolean) =>
    runReaper(
      'pod',
      parseConfig('pod', {
        argv: [...argv, `--namespace=${namespace}`, ...(dryRun ? ['--dry-run'] : [])],
        env: {},
      }),
      runContext(client, { offsetMinutes: 15 }),
    );

  const dry = await plan(stuckNs, true);
  expect(dry.actions).toEqual([
    expect.objectContaining({
      target: `${stuckNs}/web`,
      reason: 'StuckTerminating',
      action: 'remove-finalizers-and-force-delete',
    }),
  ]);
  const still = await client.get<Pod>(Resources.pods, 'web', stuckNs);
  expect(still.metadata.uid).toBe(stuck.metadata.uid);
  expect(still.metadata.finalizers).toEqual(['keiko.dev/never-removed']);
  expect(still.metadata.resourceVersion).toBe(
    (await client.get<Pod>(Resources.pods, 'web', stuckNs)).metadata.resourceVersion,
  );

  // Not yet 10 minutes past its deletionTimestamp on the real clock: nothing planned.
  const early = await runReaper(
    'pod',
    parseConfig('pod', { argv: [...argv, `--namespace=${stuckNs}`, '--dry-run'], env: {} }),
    runContext(client),
  );
  expect(early.actions).toEqual([]);

  const report = await plan(stuckNs, false);
  expect(report.results).toEqual([expect.objectContaining({ target: `${stuckNs}/web`, outcome: 'done' })]);
  expect(await client.getOrUndefined(Resources.pods, 'web', stuckNs)).toBeUndefined();

  // Opted out: planned as skipped, left alone. Same name elsewhere: untouched.
  const opt = await plan(optedOutNs, false);
  expect(opt.actions).toEqual([]);
  expect(opt.skipped).toEqual([
    expect.objectContaining({
      target: `${optedOutNs}/web`,
      why: expect.stringMatching(/disable-stuck-pod-reap/),
    }),
  ]);
  expect((await client.get<Pod>(Resources.pods, 'web', optedOutNs)).metadata.uid).toBe(optedOut.metadata.uid);
  expect((await client.get<Pod>(Resources.pods, 'web', otherNs)).metadata.uid).toBe(sameName.metadata.uid);
  // Clean up the opted-out pod's finalizer so the namespace can go.
  await client.patch(
    Resources.pods,
    'web',
    optedOutNs,
    [{ op: 'remove', path: '/metadata/finalizers' }],
    'json',
  );
});

test('an overlapping PDB pair is reduced to one, backed up and restorable; dry-run first changes nothing', async () => {
  for (let i = 0; i < 3; i++)
    await client.create(
      Resources.pods,
      podBody(`web-${i}`, pdbNs, { labels: { app: 'web', tier: 'front' } }),
    );
  await client.create(Resources.pods, podBody('db-0', pdbNs, { labels: { app: 'db' } }));
  const pdbBody = (name: string, spec: PodDisruptionBudget['spec']): PodDisruptionBudget => ({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace: pdbNs },
    spec,
  });
  // Upstream-style manifests: minAvailable with matchLabels, maxUnavailable with matchExpressions.
  await client.create(
    Resources.pdbs,
    pdbBody('web-older', { minAvailable: 1, selector: { matchLabels: { app: 'web' } } }),
  );
  await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has a one-second resolution
  await client.create(
    Resources.pdbs,
    pdbBody('front-younger', {
      maxUnavailable: 1,
      selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] },
    }),
  );
  await client.create(
    Resources.pdbs,
    pdbBody('db', { maxUnavailable: 1, selector: { matchLabels: { app: 'db' } } }),
  );

  const argv = [`--namespace=${pdbNs}`, `--lock-namespace=${govNs}`];
  const names = async () =>
    (await client.list<PodDisruptionBudget>(Resources.pdbs, { namespace: pdbNs })).items
      .map((p) => p.metadata.name)
      .sort();

  const dry = await runReaper(
    'pdb',
    parseConfig('pdb', { argv: [...argv, '--dry-run'], env: {} }),
    runContext(client),
  );
  expect(dry.actions).toEqual([
    expect.objectContaining({
      target: `${pdbNs}/front-younger`,
      reason: 'MultiplePodDisruptionBudgets',
      action: 'delete',
    }),
  ]);
  expect(await names()).toEqual(['db', 'front-younger', 'web-older']);
  expect(
    await client.getOrUndefined(Resources.configMaps, backupName(pdbNs, 'front-younger'), govNs),
  ).toBeUndefined();

  const report = await runReaper('pdb', parseConfig('pdb', { argv, env: {} }), runContext(client));
  expect(report.results).toEqual([
    expect.objectContaining({ target: `${pdbNs}/front-younger`, outcome: 'done' }),
  ]);
  expect(await names()).toEqual(['db', 'web-older']);

  // The events are on the PDB.
  type Ev = {
    metadata: { name: string };
    reason?: string;
    reportingController?: string;
    regarding?: { name?: string };
  };
  const events = (await client.list<Ev>(Resources.events, { namespace: pdbNs })).items;
  expect(
    events
      .filter(
        (e) => e.regarding?.name === 'front-younger' && e.reportingController === 'keikoproj.io/governor',
      )
      .map((e) => e.reason)
      .sort(),
  ).toEqual(['MultiplePodDisruptionBudgets', 'PodDisruptionBudgetDeleted']);

  // The backup restores it.
  const backup = await client.get<{ metadata: { name: string }; data?: Record<string, string> }>(
    Resources.configMaps,
    backupName(pdbNs, 'front-younger'),
    govNs,
  );
  const manifest = JSON.parse(backup.data!['pdb.json']!) as PodDisruptionBudget;
  await client.create(Resources.pdbs, manifest);
  expect(await names()).toEqual(['db', 'front-younger', 'web-older']);
});

test('a Lease held by a live run makes a run do nothing', async () => {
  const now = new Date().toISOString().replace('Z', '000Z');
  // The previous test's run left the Lease released; another run now holds it.
  await client.apply(Resources.leases, {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'governor-pdb-reaper', namespace: govNs },
    spec: { holderIdentity: 'another-run', leaseDurationSeconds: 600, renewTime: now, acquireTime: now },
  });
  const report = await runReaper(
    'pdb',
    parseConfig('pdb', { argv: [`--namespace=${pdbNs}`, `--lock-namespace=${govNs}`], env: {} }),
    runContext(client),
  );
  expect(report.lockedBy).toBe('another-run');
  expect(report.actions).toEqual([]);
  // The PDBs the previous test left overlapping are still both there.
  expect((await client.list(Resources.pdbs, { namespace: pdbNs })).items).toHaveLength(3);
});
