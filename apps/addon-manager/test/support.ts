/**
 * Shared set-up of the integration tests: the Addon CRD on the jest run's control plane (where
 * testkit also runs real Argo), a namespace per test file, the controller in-process scoped to that
 * file's namespaces, and Addon/workflow-template builders in upstream's shape.
 */
import { fileURLToPath } from 'node:url';
import { KubeClient, Manager, type Resource, silentLogger } from '@keiko/operator-kit';
import {
  ARGO_DELAY_ANNOTATION,
  ARGO_FAIL_ANNOTATION,
  createTestNamespace,
  deleteTestNamespace,
  installCrds,
  testKubeConfig,
  waitFor,
} from '@keiko/testkit';
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { type Addon, Addons } from '../src/api/addon.js';
import { type Workflow, Workflows } from '../src/api/workflow.js';
import { type Config, DEFAULTS } from '../src/config.js';
import { addonController } from '../src/controller/addon-controller.js';
import { LABEL_ADDON_UID } from '../src/lifecycle/naming.js';

export const CHART_DIR = fileURLToPath(new URL('../../../deploy/charts/addon-manager', import.meta.url));
export const CRD_FILE = `${CHART_DIR}/crds/addonmgr.keikoproj.io_addons.yaml`;
export const ServiceAccounts: Resource = {
  group: '',
  version: 'v1',
  plural: 'serviceaccounts',
  kind: 'ServiceAccount',
  namespaced: true,
};
export const Deployments: Resource = {
  group: 'apps',
  version: 'v1',
  plural: 'deployments',
  kind: 'Deployment',
  namespaced: true,
};

export async function testClient(): Promise<KubeClient> {
  return KubeClient.fromKubeConfig(testKubeConfig(), 'addon-manager-test');
}

/** The CRD and `count` fresh namespaces; `cleanup` deletes the namespaces. */
export async function testWorld(prefix: string, count = 1) {
  const kc = testKubeConfig();
  await installCrds(kc, CRD_FILE);
  const namespaces: string[] = [];
  for (let i = 0; i < count; i++)
    namespaces.push(await createTestNamespace(kc, `${prefix}${i ? `-${i}` : ''}`));
  const client = await testClient();
  return {
    client,
    namespaces,
    namespace: namespaces[0]!,
    cleanup: async () => {
      for (const ns of namespaces) await deleteTestNamespace(kc, ns);
    },
  };
}

export interface RunningController {
  manager: Manager;
  registry: Registry;
  stop(): Promise<void>;
}

/** The Addon controller in-process, managing only `namespaces`. */
export async function startController(
  namespaces: string[],
  overrides: Partial<Config> = {},
): Promise<RunningController> {
  const registry = new Registry();
  const manager = await Manager.create({
    name: 'addon-manager',
    kubeConfig: testKubeConfig(),
    logger: silentLogger(),
    registry,
  });
  addonController(manager, { config: { ...DEFAULTS, namespaces, ...overrides }, registry });
  await manager.start();
  return { manager, registry, stop: () => manager.stop() };
}

export interface StepOptions {
  fail?: string;
  delay?: string;
}

/** An Argo Workflow template (YAML) in upstream's style: one resource step applying a ConfigMap. */
export function workflowTemplate(step: string, options: StepOptions = {}): string {
  const annotations = {
    ...(options.fail ? { [ARGO_FAIL_ANNOTATION]: options.fail } : {}),
    ...(options.delay ? { [ARGO_DELAY_ANNOTATION]: options.delay } : {}),
  };
  return stringify({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { generateName: `${step}-` },
    spec: {
      entrypoint: 'entry',
      serviceAccountName: 'addon-manager-workflow-installer-sa',
      templates: [
        {
          name: 'entry',
          steps: [[{ name: step, template: 'apply' }]],
        },
        {
          name: 'apply',
          ...(Object.keys(annotations).length > 0 ? { metadata: { annotations } } : {}),
          resource: {
            action: 'apply',
            manifest: stringify({
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: `${step}-marker`, namespace: '{{workflow.parameters.namespace}}' },
              data: { step },
            }),
          },
        },
      ],
    },
  });
}

export interface AddonOptions {
  pkgName?: string;
  pkgVersion?: string;
  deps?: Record<string, string>;
  prereqs?: StepOptions | false;
  install?: StepOptions | false;
  delete?: StepOptions | false;
  data?: Record<string, string>;
}

export function addon(namespace: string, name: string, o: AddonOptions = {}): Addon {
  const step = (s: string, opt: StepOptions | false | undefined) =>
    opt === false ? undefined : { template: workflowTemplate(s, opt ?? {}) };
  const lifecycle: Record<string, { template: string }> = {};
  for (const [s, opt] of [
    ['prereqs', o.prereqs],
    ['install', o.install],
    ['delete', o.delete],
  ] as const) {
    const v = step(s, opt);
    if (v) lifecycle[s] = v;
  }
  return {
    apiVersion: 'addonmgr.keikoproj.io/v1alpha1',
    kind: 'Addon',
    metadata: { name, namespace },
    spec: {
      pkgName: o.pkgName ?? name,
      pkgVersion: o.pkgVersion ?? 'v1.0.0',
      pkgType: 'composite',
      pkgDescription: `test addon ${name}`,
      ...(o.deps ? { pkgDeps: o.deps } : {}),
      params: {
        namespace: `${name}-target`.slice(0, 63),
        context: { clusterName: 'test-cluster', clusterRegion: 'us-east-1' },
        data: o.data ?? { logLevel: 'info' },
      },
      lifecycle,
    },
  };
}

/** The ServiceAccount upstream's templates name (workflow pods are refused without it). */
export async function createInstallerServiceAccount(client: KubeClient, namespace: string): Promise<void> {
  await client.apply(ServiceAccounts, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'addon-manager-workflow-installer-sa', namespace },
  });
}

export async function getAddon(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<Addon | undefined> {
  return client.getOrUndefined<Addon>(Addons, name, namespace);
}

/** Waits until the Addon satisfies `check`, returning it. */
export async function waitForAddon(
  client: KubeClient,
  namespace: string,
  name: string,
  check: (a: Addon) => boolean,
  description: string,
  timeoutMs = 60_000,
): Promise<Addon> {
  return waitFor(
    async () => {
      const a = await getAddon(client, namespace, name);
      return a && check(a) ? a : undefined;
    },
    { description: `addon ${namespace}/${name}: ${description}`, timeoutMs, intervalMs: 100 },
  );
}

export const installed = (phase: string) => (a: Addon) => a.status?.lifecycle?.installed === phase;

/** Every Workflow of an addon (by its UID label). */
export async function workflowsOf(client: KubeClient, a: Addon): Promise<Workflow[]> {
  const list = await client.list<Workflow>(Workflows, {
    namespace: a.metadata.namespace!,
    labelSelector: `${LABEL_ADDON_UID}=${a.metadata.uid}`,
  });
  return list.items;
}

export function condition(a: Addon, type: string) {
  return a.status?.conditions?.find((c) => c.type === type);
}
