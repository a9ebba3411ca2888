/**
 * e2e: the built controller (dist/main.js) as a child process, authenticated as the chart's
 * ServiceAccount with exactly the chart's RBAC (testkit chartIdentity), against the real API server
 * and real Argo. A permission the chart lacks fails this test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeClient } from '@keiko/operator-kit';
import { chartIdentity, freePort, testKubeConfig, uniqueName, waitFor } from '@keiko/testkit';
import { Addons } from '../src/api/addon.js';
import {
  addon,
  CHART_DIR,
  createInstallerServiceAccount,
  getAddon,
  installed,
  testWorld,
  waitForAddon,
  workflowsOf,
} from './support.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let world: Awaited<ReturnType<typeof testWorld>>;
let client: KubeClient;
let ns: string;
let child: ChildProcess | undefined;
let output = '';
let port: number;

beforeAll(async () => {
  world = await testWorld('addon-e2e');
  ({ client, namespace: ns } = world);
  await createInstallerServiceAccount(client, ns);
  const identity = await chartIdentity(testKubeConfig(), CHART_DIR, {
    releaseName: uniqueName('am'),
    namespace: ns,
  });
  port = await freePort();
  child = spawn(
    process.execPath,
    [MAIN, `--ops-port=${port}`, '--leader-elect=true', `--namespaces=${ns}`, '--log-level=info'],
    {
      env: { ...process.env, KUBECONFIG: identity.kubeconfigPath, POD_NAMESPACE: ns },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await waitFor(
    async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      return res.ok;
    },
    { description: `controller ready (output so far:\n${output})`, timeoutMs: 30_000 },
  );
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
  }
  await world?.cleanup();
});

describe('the built controller under the chart RBAC', () => {
  it('installs and deletes an Addon through real Argo, then shuts down cleanly on SIGTERM', async () => {
    await client.create(Addons, addon(ns, 'e2e', { delete: {} }));
    const done = await waitForAddon(
      client,
      ns,
      'e2e',
      installed('Succeeded'),
      `Succeeded (controller output:\n${output})`,
    );
    expect((await workflowsOf(client, done)).length).toBe(2);

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/addonmgr_workflows_created_total\{step="install"\} 1/);
    expect(metrics).toMatch(/addonmgr_addons\{phase="Succeeded"\} 1/);
    expect(metrics).toMatch(/controller_runtime_reconcile_total\{controller="addon",result="success"\} \d+/);
    // The lease lives in the release namespace (leader election under the chart's Role).
    const lease = await client.getOrUndefined(
      { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
      'addon-manager-leader',
      ns,
    );
    expect(lease).toBeDefined();

    await client.delete(Addons, 'e2e', ns);
    await waitFor(async () => (await getAddon(client, ns, 'e2e')) === undefined, {
      description: `addon deleted (controller output:\n${output})`,
      timeoutMs: 60_000,
    });
    expect(output).not.toMatch(/forbidden/i);

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);
});
