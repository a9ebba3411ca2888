/** Shared by the integration tests: the CRD, a controller in-process with an injected clock, samples. */
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach } from '@jest/globals';
import { createLogger, KubeClient, Manager, silentLogger } from '@keiko/operator-kit';
import { createTestNamespace, installCrds, testKubeConfig, waitFor } from '@keiko/testkit';
import { Registry } from 'prom-client';
import { type HealthCheck, type HealthCheckSpec, healthCheckResource } from '../src/api/healthcheck.js';
import type { HealthCheckReconciler } from '../src/controller/healthcheck.js';
import { healthCheckController } from '../src/controller/setup.js';
import { type Clock, ScaledClock } from '../src/schedule/clock.js';
import { HEALTHCHECK_UID_LABEL, type Workflow, workflowResource } from '../src/workflow/build.js';

export const CRD_FILE = fileURLToPath(
  new URL(
    '../../../deploy/charts/active-monitor/crds/activemonitor.keikoproj.io_healthchecks.yaml',
    import.meta.url,
  ),
);
export const CHART_DIR = fileURLToPath(new URL('../../../deploy/charts/active-monitor', import.meta.url));
export const ARGO_FAIL = 'testkit.keiko.io/argo-fail';
export const ARGO_DELAY = 'testkit.keiko.io/argo-delay';

let installed: Promise<unknown> | undefined;
export function installHealthCheckCrd(): Promise<unknown> {
  installed ??= installCrds(testKubeConfig(), CRD_FILE);
  return installed;
}

const clients: KubeClient[] = [];

export async function setup(prefix: string): Promise<{ client: KubeClient; namespace: string }> {
  await installHealthCheckCrd();
  const kc = testKubeConfig();
  const namespace = await createTestNamespace(kc, prefix);
  const client = await KubeClient.fromKubeConfig(kc, 'active-monitor-test');
  clients.push(client);
  return { client, namespace };
}

/** Closes the connections of every client `setup` made (jest then exits without force). */
export async function closeClients(): Promise<void> {
  for (const c of clients.splice(0)) c.transport.close();
}

export interface RunningController {
  manager: Manager;
  registry: Registry;
  reconciler: HealthCheckReconciler;
  stop(): Promise<void>;
}

let managers = 0;

/** The controller in-process, watching HealthChecks of one namespace, on `clock`. */
export async function startController(namespace: string, clock: Clock): Promise<RunningController> {
  const registry = new Registry();
  const manager = await Manager.create({
    name: 'active-monitor',
    kubeConfig: testKubeConfig(),
    // ACTIVE_MONITOR_TEST_LOG=debug shows the controller's log.
    logger: process.env.ACTIVE_MONITOR_TEST_LOG
      ? createLogger({
          level: process.env.ACTIVE_MONITOR_TEST_LOG,
          base: { mgr: `${process.pid}-${++managers}` },
        })
      : silentLogger(),
    registry,
    gracefulShutdownMs: 5_000,
  });
  const hcs = healthCheckController(manager, {
    registry,
    clock,
    namespace,
    workers: 4,
    scheduleWorkers: 4,
    retryAfterMs: 5_000,
  });
  await manager.start();
  return {
    manager,
    registry,
    reconciler: hcs.reconciler,
    stop: async () => {
      await hcs.stop();
      await manager.stop();
    },
  };
}

export function fastClock(start = '2026-03-01T00:00:00Z', speed = 30): ScaledClock {
  return new ScaledClock(new Date(start), speed);
}

/** An inline Argo workflow whose single step the testkit kwok stages succeed, fail or hold. */
export function inlineWorkflow(annotations: Record<string, string> = {}): string {
  const ann = Object.entries(annotations)
    .map(([k, v]) => `\n        ${k}: ${JSON.stringify(v)}`)
    .join('');
  return `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: probe-
spec:
  entrypoint: main
  templates:
  - name: main
    metadata:
      annotations:
        placeholder: "x"${ann}
    container:
      image: busybox:1.36
      command: [nslookup, kubernetes.default.svc.cluster.local]
`;
}

export function healthCheck(
  namespace: string,
  name: string,
  spec: Partial<HealthCheckSpec> & Pick<HealthCheckSpec, 'workflow'>,
): HealthCheck {
  return {
    apiVersion: 'activemonitor.keikoproj.io/v1alpha1',
    kind: 'HealthCheck',
    metadata: { name, namespace },
    spec: { level: 'namespace', ...spec },
  };
}

/**
 * A check block. The default timeout (3000 s of schedule time) keeps runs from timing out on a busy
 * machine whatever the clock speed; the timeout test sets its own.
 */
export function checkBlock(namespace: string, source: string, extra: Record<string, unknown> = {}) {
  return {
    generateName: 'probe-',
    workflowtimeout: 3000,
    resource: { namespace, serviceAccount: 'probe-sa', source: { inline: source } },
    ...extra,
  };
}

export async function getHc(client: KubeClient, namespace: string, name: string): Promise<HealthCheck> {
  return client.get<HealthCheck>(healthCheckResource, name, namespace);
}

export async function waitHc(
  client: KubeClient,
  namespace: string,
  name: string,
  what: string,
  ok: (hc: HealthCheck) => boolean,
  timeoutMs = 60_000,
): Promise<HealthCheck> {
  return waitFor(
    async () => {
      const hc = await getHc(client, namespace, name);
      return ok(hc) ? hc : undefined;
    },
    { description: `${namespace}/${name}: ${what}`, timeoutMs, intervalMs: 100 },
  ).catch(async (err: Error) => {
    const hc = await getHc(client, namespace, name).catch(() => undefined);
    throw new Error(`${err.message}\nstatus: ${JSON.stringify(hc?.status, null, 1)}`);
  });
}

/** Workflows started for one HealthCheck (any namespace). */
export async function workflowsOf(client: KubeClient, hc: HealthCheck): Promise<Workflow[]> {
  const list = await client.list<Workflow>(workflowResource, {
    labelSelector: `${HEALTHCHECK_UID_LABEL}=${hc.metadata.uid}`,
  });
  return list.items;
}

export const running = (wf: Workflow) =>
  !['Succeeded', 'Failed', 'Error'].includes(wf.status?.phase ?? '') && !wf.spec.shutdown;

/**
 * Samples an invariant every 100 ms until stopped; `stop()` rejects with the first violation.
 */
export function sampleInvariant(description: string, check: () => Promise<string | undefined>) {
  let violation: string | undefined;
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        violation ??= await check();
      } catch {
        // a transient API error is not a violation
      }
      samples++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop(): Promise<number> {
      stopped = true;
      await loop;
      if (violation) throw new Error(`invariant "${description}" violated: ${violation}`);
      return samples;
    },
  };
}

export async function metricSample(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  const data = await metric.get();
  const sample = data.values.find((v) =>
    Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val),
  );
  return sample?.value;
}

export interface PerTest {
  client: KubeClient;
  namespace: string;
  /** Starts the controller in this test's namespace; it is stopped after the test. */
  start(clock: Clock): Promise<RunningController>;
}

/** Registers the per-test set-up: a fresh namespace before each test, its controllers stopped after. */
export function perTestNamespace(prefix: string): PerTest {
  const controllers: RunningController[] = [];
  const t: PerTest = {
    client: undefined as unknown as KubeClient,
    namespace: '',
    start: async (clock) => {
      const c = await startController(t.namespace, clock);
      controllers.push(c);
      return c;
    },
  };
  beforeEach(async () => {
    ({ client: t.client, namespace: t.namespace } = await setup(prefix));
  });
  afterEach(async () => {
    await Promise.all(controllers.splice(0).map((c) => c.stop()));
  });
  afterAll(closeClients);
  return t;
}
