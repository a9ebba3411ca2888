/**
 * Bad input: what the CRD schema and CEL rules refuse at admission (with a message naming the
 * field), and what only the controller can check, which becomes Validation Failed with Ready=False
 * and a reason. Also status.resources: per-kind readiness of the workloads an addon deployed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeClient } from '@keiko/operator-kit';
import { type Addon, Addons } from '../src/api/addon.js';
import { LABEL_MANAGED_BY, LABEL_NAME, MANAGED_BY } from '../src/lifecycle/naming.js';
import {
  addon,
  condition,
  createInstallerServiceAccount,
  Deployments,
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
  world = await testWorld('addon-admit', 2);
  ({ client, namespace: ns } = world);
  await createInstallerServiceAccount(client, ns);
  controller = await startController([ns]);
}, 60_000);

afterAll(async () => {
  await controller?.stop();
  await world?.cleanup();
});

async function rejection(a: Addon): Promise<string> {
  try {
    await client.create(Addons, a);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${a.metadata.name} was accepted`);
}

describe('admission', () => {
  it.each([
    [
      'missing pkgName',
      (a: Addon) => delete (a.spec as Partial<Addon['spec']>).pkgName,
      /spec\.pkgName: Required value/,
    ],
    ['empty params.namespace', (a: Addon) => (a.spec.params.namespace = ''), /spec\.params\.namespace/],
    [
      'a template that is not a Workflow',
      (a: Addon) => (a.spec.lifecycle!.install!.template = 'apiVersion: v1\nkind: ConfigMap\n'),
      /spec\.lifecycle\.install\.template: .*template must be an Argo Workflow/,
    ],
    [
      'namePrefix over 10 characters',
      (a: Addon) => (a.spec.lifecycle!.install!.namePrefix = 'much-too-long'),
      /spec\.lifecycle\.install\.namePrefix/,
    ],
    [
      'a data parameter named like an injected one',
      (a: Addon) => (a.spec.params.data = { pkgVersion: 'x' }),
      /spec\.params\.data: Invalid value.*must not redefine a parameter the controller injects/,
    ],
  ])('refuses %s', async (_what, mutate, message) => {
    const a = addon(ns, `bad-${Math.random().toString(36).slice(2, 8)}`);
    mutate(a);
    expect(await rejection(a)).toMatch(message);
  });

  it('an upstream Addon with every optional field (overrides, secrets cmd, role) is accepted', async () => {
    const a = addon(ns, 'all-fields');
    a.spec.pkgChannel = 'stable';
    a.spec.overrides = { kustomize: { labels: { a: 'b' } }, template: { x: 1 } };
    a.spec.selector = { matchLabels: { app: 'x' } };
    a.spec.lifecycle!.install!.role = 'arn:aws:iam::123:role/x';
    a.spec.lifecycle!.install!.workflowRole = 'r';
    const created = await client.create<Addon>(Addons, a);
    expect(created.spec.overrides).toEqual({ kustomize: { labels: { a: 'b' } }, template: { x: 1 } });
  });
});

describe('what only the controller can check', () => {
  it('a template that does not parse becomes Validation Failed with a reason naming the field', async () => {
    const a = addon(ns, 'unparseable');
    a.spec.lifecycle!.install!.template =
      'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: [unclosed\n';
    await client.create(Addons, a);
    const failed = await waitForAddon(
      client,
      ns,
      'unparseable',
      installed('Validation Failed'),
      'Validation Failed',
    );
    expect(failed.status?.reason).toMatch(/^spec\.lifecycle\.install\.template: invalid YAML/);
    expect(condition(failed, 'Ready')).toMatchObject({ status: 'False', reason: 'ValidationFailed' });
    expect(await workflowsOf(client, failed)).toHaveLength(0);
  });

  it('a template declaring a parameter the controller injects is refused with a condition', async () => {
    const a = addon(ns, 'clash');
    a.spec.lifecycle!.prereqs!.template = a.spec.lifecycle!.prereqs!.template.replace(
      'spec:\n',
      'spec:\n  arguments:\n    parameters:\n      - name: namespace\n        value: kube-system\n',
    );
    await client.create(Addons, a);
    const failed = await waitForAddon(
      client,
      ns,
      'clash',
      installed('Validation Failed'),
      'Validation Failed',
    );
    expect(failed.status?.reason).toBe(
      'spec.lifecycle.prereqs.template: parameter namespace clashes with the addon parameter of that name',
    );
  });
});

describe('status.resources', () => {
  it('lists the workloads in params.namespace with per-kind readiness and an aggregate condition', async () => {
    const target = world.namespaces[1]!;
    const a = addon(ns, 'workloads', { prereqs: false });
    a.spec.params.namespace = target;
    await client.create(Addons, a);
    await waitForAddon(client, ns, 'workloads', installed('Succeeded'), 'Succeeded');
    const labels = { [LABEL_NAME]: 'workloads', [LABEL_MANAGED_BY]: MANAGED_BY, app: 'w' };
    const deployment = (name: string, replicas: number) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: target, labels },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'w', name } },
        template: {
          metadata: { labels: { app: 'w', name } },
          spec: { containers: [{ name: 'c', image: 'x' }] },
        },
      },
    });
    // Zero replicas: available as soon as kube-controller-manager observes it.
    await client.apply(Deployments, deployment('idle', 0));
    const ready = await waitForAddon(
      client,
      ns,
      'workloads',
      (x) => x.status?.resources?.some((r) => r.name === 'idle' && r.status === 'Ready') ?? false,
      'idle Ready',
    );
    expect(condition(ready, 'ResourcesReady')?.status).toBe('True');
    expect(condition(ready, 'Ready')?.status).toBe('True');
    // One replica that no node will run (no schedulable node in this cluster): InProgress.
    await client.apply(Deployments, deployment('busy', 1));
    const progressing = await waitForAddon(
      client,
      ns,
      'workloads',
      (x) => x.status?.resources?.some((r) => r.name === 'busy') ?? false,
      'busy listed',
    );
    expect(progressing.status?.resources).toEqual([
      { name: 'busy', kind: 'Deployment', group: 'apps', status: 'InProgress' },
      { name: 'idle', kind: 'Deployment', group: 'apps', status: 'Ready' },
    ]);
    expect(condition(progressing, 'ResourcesReady')).toMatchObject({
      status: 'False',
      message: 'Deployment/busy InProgress',
    });
    expect(condition(progressing, 'Ready')).toMatchObject({ status: 'False', reason: 'ResourcesNotReady' });
    expect(progressing.status?.lifecycle?.installed).toBe('Succeeded');
  });
});
