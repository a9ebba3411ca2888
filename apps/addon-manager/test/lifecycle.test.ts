/**
 * The Addon lifecycle against the real API server and the real Argo workflow-controller (testkit:
 * kwok finishes workflow pods; a template annotation asks for a failure). The controller runs
 * in-process, scoped to this file's namespace.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeClient, KubeObject } from '@keiko/operator-kit';
import { applyManifests, parseManifests, testKubeConfig, waitFor } from '@keiko/testkit';
import { Addons } from '../src/api/addon.js';
import { LABEL_INSTANCE_ID, LABEL_NAME, LABEL_STEP } from '../src/lifecycle/naming.js';
import { FORCE_DELETE_ANNOTATION, RETRY_ANNOTATION } from '../src/lifecycle/plan.js';
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
let controller: RunningController;

beforeAll(async () => {
  world = await testWorld('addon-life');
  ({ client, namespace: ns } = world);
  await createInstallerServiceAccount(client, ns);
  controller = await startController([ns]);
}, 60_000);

afterAll(async () => {
  await controller?.stop();
  await world?.cleanup();
});

// Upstream's README-style manifest, unchanged (a name longer than upstream's 31-character cap).
const UPSTREAM_SAMPLE = (ns: string) => `
apiVersion: addonmgr.keikoproj.io/v1alpha1
kind: Addon
metadata:
  name: node-problem-detector-with-a-long-name-over-31
  namespace: ${ns}
spec:
  pkgName: npd
  pkgVersion: v0.8.19
  pkgType: composite
  pkgDescription: Node problem detector daemonset
  params:
    namespace: addon-npd
    context: {clusterName: demo, clusterRegion: us-east-1}
    data: {logLevel: info, replicas: 1}
  lifecycle:
    prereqs:
      template: |
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        spec:
          entrypoint: ns
          serviceAccountName: addon-manager-workflow-installer-sa
          templates:
          - name: ns
            resource:
              action: apply
              manifest: |
                apiVersion: v1
                kind: Namespace
                metadata: {name: "{{workflow.parameters.namespace}}"}
    install:
      template: |
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        spec:
          entrypoint: ds
          serviceAccountName: addon-manager-workflow-installer-sa
          templates:
          - name: ds
            resource:
              action: apply
              manifest: |
                apiVersion: apps/v1
                kind: DaemonSet
                metadata:
                  name: npd
                  namespace: "{{workflow.parameters.namespace}}"
                spec:
                  selector: {matchLabels: {app: npd}}
                  template:
                    metadata: {labels: {app: npd}}
                    spec: {containers: [{name: npd, image: "registry.k8s.io/node-problem-detector:v0.8.19"}]}
`;

describe('Addon lifecycle with real Argo', () => {
  it('an upstream Addon runs prereqs then install and reaches Succeeded', async () => {
    const kc = testKubeConfig();
    const [applied] = parseManifests(UPSTREAM_SAMPLE(ns));
    await applyManifests(kc, [applied!]);
    const name = applied!.metadata.name;
    // Phases seen on the way: prereqs Pending while install has not started, then both Succeeded.
    const seen = new Set<string>();
    const done = await waitForAddon(
      client,
      ns,
      name,
      (a) => {
        seen.add(`${a.status?.lifecycle?.prereqs}/${a.status?.lifecycle?.installed}`);
        return a.status?.lifecycle?.installed === 'Succeeded';
      },
      'Succeeded',
    );
    expect(seen).toContain('Pending/Pending');
    expect(done.status?.lifecycle?.prereqs).toBe('Succeeded');
    expect(done.metadata.finalizers).toContain('delete.addonmgr.keikoproj.io');
    expect(condition(done, 'Ready')).toMatchObject({ status: 'True', reason: 'Installed' });
    expect(condition(done, 'DependenciesMet')?.status).toBe('True');
    expect(done.status?.checksum).toMatch(/^[0-9a-f]{16}$/);

    const wfs = await workflowsOf(client, done);
    expect(wfs.map((w) => w.metadata.labels?.[LABEL_STEP]).sort()).toEqual(['install', 'prereqs']);
    // Events with stable reasons, regarding the Addon.
    const events = await waitFor(
      async () => {
        const list = await client.list<KubeObject & { reason?: string; regarding?: { name?: string } }>(
          { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
          { namespace: ns },
        );
        const reasons = list.items.filter((e) => e.regarding?.name === name).map((e) => e.reason);
        return reasons.includes('Completed') ? reasons : undefined;
      },
      { description: 'Completed event' },
    );
    expect(events).toEqual(expect.arrayContaining(['Submitted', 'Completed']));
    for (const wf of wfs) {
      expect(wf.status?.phase).toBe('Succeeded');
      expect(wf.metadata.name!.length).toBeLessThanOrEqual(63);
      expect(wf.metadata.labels).toMatchObject({
        [LABEL_NAME]: name,
        'app.kubernetes.io/managed-by': 'addonmgr.keikoproj.io',
        'app.kubernetes.io/version': 'v0.8.19',
        [LABEL_INSTANCE_ID]: 'addon-manager-workflow-controller',
      });
      expect(wf.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Addon', name, controller: true });
      const params = Object.fromEntries((wf.spec.arguments?.parameters ?? []).map((p) => [p.name, p.value]));
      expect(params).toMatchObject({
        namespace: 'addon-npd',
        pkgName: 'npd',
        clusterName: 'demo',
        logLevel: 'info',
        replicas: '1',
      });
      expect(wf.spec.activeDeadlineSeconds).toBe(300);
      // Every embedded manifest carries the addon's labels.
      const manifest = (wf.spec.templates ?? []).find((t) => t.resource)?.resource?.manifest ?? '';
      expect(manifest).toContain(`app.kubernetes.io/name: ${name}`);
    }
  });

  it('a failing install reports Failed with the workflow message, and the retry annotation re-runs it', async () => {
    const a = addon(ns, 'failing', { install: { fail: 'helm upgrade failed: timeout' } });
    await client.create(Addons, a);
    const failed = await waitForAddon(client, ns, 'failing', installed('Failed'), 'Failed');
    expect(failed.status?.lifecycle?.prereqs).toBe('Succeeded');
    expect(failed.status?.reason).toMatch(
      /^install workflow failing-install-[0-9a-f]{10} Failed: child '.+' failed$/,
    );
    expect(condition(failed, 'Degraded')).toMatchObject({ status: 'True', reason: 'Failed' });
    expect(condition(failed, 'Ready')?.status).toBe('False');
    const before = await workflowsOf(client, failed);
    expect(before).toHaveLength(2);

    // The failing step's pod message is Argo's node message.
    const installWf = before.find((w) => w.metadata.labels?.[LABEL_STEP] === 'install')!;
    const nodes = Object.values(
      (installWf.status as { nodes?: Record<string, { type: string; message?: string }> }).nodes ?? {},
    );
    expect(nodes.find((n) => n.type === 'Pod')?.message).toBe('helm upgrade failed: timeout');

    // Retry without a spec change: a new run (new workflows), still failing because the template still asks to.
    await client.patch(
      Addons,
      'failing',
      ns,
      { metadata: { annotations: { [RETRY_ANNOTATION]: '1' } } },
      'merge',
    );
    const retried = await waitForAddon(
      client,
      ns,
      'failing',
      (x) => x.status?.retry === '1' && x.status?.lifecycle?.installed === 'Failed',
      'failed again after retry',
    );
    const after = await workflowsOf(client, retried);
    // The previous run's workflows are purged; the new run has its own.
    await waitFor(async () => (await workflowsOf(client, retried)).length === 2 || undefined, {
      description: 'old run purged',
    });
    expect(after.map((w) => w.metadata.name)).not.toContain(before[0]!.metadata.name);
  });

  it('a spec change runs the workflows again; an unchanged resync does not', async () => {
    await client.create(Addons, addon(ns, 'rerun'));
    const first = await waitForAddon(client, ns, 'rerun', installed('Succeeded'), 'Succeeded');
    const firstNames = (await workflowsOf(client, first)).map((w) => w.metadata.name).sort();

    // Unchanged spec: touch metadata (an event, a reconcile) and restart the controller (a full resync).
    await client.patch(Addons, 'rerun', ns, { metadata: { labels: { touched: 'yes' } } }, 'merge');
    await controller.stop();
    controller = await startController([ns]);
    await waitFor(async () => (await getAddon(client, ns, 'rerun'))?.metadata.labels?.touched === 'yes', {
      description: 'label visible',
    });
    const resynced = await getAddon(client, ns, 'rerun');
    expect(resynced!.status?.checksum).toBe(first.status?.checksum);
    expect(resynced!.status?.starttime).toBe(first.status?.starttime);
    expect((await workflowsOf(client, resynced!)).map((w) => w.metadata.name).sort()).toEqual(firstNames);

    // Spec change: new checksum, new workflows, Succeeded again.
    await client.patch(Addons, 'rerun', ns, { spec: { pkgVersion: 'v1.1.0' } }, 'merge');
    const second = await waitForAddon(
      client,
      ns,
      'rerun',
      (a) => a.status?.checksum !== first.status?.checksum && a.status?.lifecycle?.installed === 'Succeeded',
      'Succeeded with the new spec',
    );
    const secondNames = (await workflowsOf(client, second)).map((w) => w.metadata.name).sort();
    expect(secondNames).toHaveLength(2);
    expect(secondNames.some((n) => firstNames.includes(n))).toBe(false);
  }, 90_000);

  it('delete runs the delete workflow, then the Addon disappears', async () => {
    await client.create(Addons, addon(ns, 'removable', { delete: { delay: '1s' } }));
    const ok = await waitForAddon(client, ns, 'removable', installed('Succeeded'), 'Succeeded');
    await client.delete(Addons, 'removable', ns);
    const deleting = await waitForAddon(client, ns, 'removable', installed('Deleting'), 'Deleting');
    expect(deleting.metadata.finalizers).toContain('delete.addonmgr.keikoproj.io');
    const deleteWf = (await workflowsOf(client, ok)).find(
      (w) => w.metadata.labels?.[LABEL_STEP] === 'delete',
    );
    expect(deleteWf).toBeDefined();
    await waitFor(async () => (await getAddon(client, ns, 'removable')) === undefined, {
      description: 'addon gone',
      timeoutMs: 60_000,
    });
  });

  it('a failing delete keeps the finalizer (Delete Failed) until force-delete is asked for', async () => {
    await client.create(Addons, addon(ns, 'stuck', { delete: { fail: 'cannot remove CRDs' } }));
    await waitForAddon(client, ns, 'stuck', installed('Succeeded'), 'Succeeded');
    await client.delete(Addons, 'stuck', ns);
    const failed = await waitForAddon(client, ns, 'stuck', installed('Delete Failed'), 'Delete Failed');
    expect(failed.status?.reason).toMatch(/^delete workflow .* Failed/);
    expect(failed.metadata.finalizers).toContain('delete.addonmgr.keikoproj.io');
    await client.patch(
      Addons,
      'stuck',
      ns,
      { metadata: { annotations: { [FORCE_DELETE_ANNOTATION]: 'true' } } },
      'merge',
    );
    await waitFor(async () => (await getAddon(client, ns, 'stuck')) === undefined, {
      description: 'addon gone',
    });
  });
});
