/**
 * e2e: the built controller (dist/main.js) as a child process under its chart's ServiceAccount and
 * RBAC (testkit chartIdentity), with leader election, against the real Argo workflow-controller.
 * Missing permissions fail this test; rules beyond what the chart may grant become RBACReady=False.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeClient } from '@keiko/operator-kit';
import { chartIdentity, createTestNamespace, freePort, testKubeConfig } from '@keiko/testkit';
import { healthCheckResource } from '../src/api/healthcheck.js';
import {
  CHART_DIR,
  checkBlock,
  closeClients,
  healthCheck,
  inlineWorkflow,
  setup,
  waitHc,
} from './support.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let client: KubeClient;
let namespace: string;
let child: ChildProcess | undefined;
let port: number;
let output = '';

beforeAll(async () => {
  ({ client, namespace } = await setup('am-e2e'));
  const releaseNamespace = await createTestNamespace(testKubeConfig(), 'am-system');
  const identity = await chartIdentity(testKubeConfig(), CHART_DIR, {
    releaseName: `am-${releaseNamespace.slice(-8)}`,
    namespace: releaseNamespace,
  });
  port = await freePort();
  child = spawn(
    process.execPath,
    [MAIN, `--ops-port=${port}`, '--leader-elect', `--namespace=${namespace}`, '--log-level=info'],
    {
      env: { ...process.env, KUBECONFIG: identity.kubeconfigPath, POD_NAMESPACE: releaseNamespace },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
});

afterAll(closeClients);

describe('the built controller under the chart RBAC', () => {
  it('runs checks, reports what it may not grant, serves metrics and shuts down on SIGTERM', async () => {
    await client.create(
      healthCheckResource,
      healthCheck(namespace, 'e2e', {
        repeatAfterSec: 3600,
        workflow: checkBlock(namespace, inlineWorkflow()),
      }),
    );
    const ok = await waitHc(
      client,
      namespace,
      'e2e',
      'one success',
      (h) => h.status?.successCount === 1,
      90_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\ncontroller output:\n${output.slice(-4000)}`);
    });
    expect(ok.status!.conditions?.find((c) => c.type === 'RBACReady')?.status).toBe('True');

    // Secrets are not among the rules the chart lets the controller grant.
    const greedy = checkBlock(namespace, inlineWorkflow(), {
      rbacRules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'delete'] }],
    });
    await client.create(
      healthCheckResource,
      healthCheck(namespace, 'greedy', { repeatAfterSec: 3600, workflow: greedy }),
    );
    const refused = await waitHc(client, namespace, 'greedy', 'RBACReady=False', (h) =>
      Boolean(h.status?.conditions?.some((c) => c.type === 'RBACReady' && c.status === 'False')),
    );
    expect(refused.status!.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'RBACForbidden',
    });
    expect(refused.status!.successCount ?? 0).toBe(0);
    expect(refused.status!.currentRun).toBeUndefined();

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain(
      `healthcheck_success_count{namespace="${namespace}",healthcheck_name="e2e",workflow="healthCheck"} 1`,
    );
    expect(metrics).toContain('controller_runtime_reconcile_total{controller="healthcheck"');
    expect(metrics).toContain('leader_election_master_status');
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    child!.kill('SIGTERM');
    const [code] = (await once(child!, 'exit')) as [number | null];
    expect(code).toBe(0);
    // Under the chart's RBAC nothing but the deliberate grant refusal is forbidden.
    const forbidden = output
      .split('\n')
      .filter((l) => /forbidden/i.test(l) && !/attempting to grant|RBACForbidden/.test(l));
    expect(forbidden).toEqual([]);
  });
});
