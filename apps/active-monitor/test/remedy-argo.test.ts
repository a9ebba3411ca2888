/**
 * Remedies with the real Argo workflow-controller and a scaled clock: a failing check triggers the
 * remedy (in its own namespace), which respects remedyRunsLimit and remedyResetInterval and never
 * overlaps a check; deleting the HealthCheck removes its RBAC objects and metric series.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { KubeClient } from '@keiko/operator-kit';
import { createTestNamespace, testKubeConfig, waitFor } from '@keiko/testkit';
import { healthCheckResource } from '../src/api/healthcheck.js';
import { RbacResources } from '../src/rbac/objects.js';
import { HEALTHCHECK_UID_LABEL, RUN_TYPE_LABEL } from '../src/workflow/build.js';
import {
  ARGO_FAIL,
  checkBlock,
  closeClients,
  fastClock,
  healthCheck,
  inlineWorkflow,
  metricSample,
  type RunningController,
  running,
  sampleInvariant,
  setup,
  startController,
  waitHc,
  workflowsOf,
} from './support.js';

let client: KubeClient;
let namespace: string;
const controllers: RunningController[] = [];

beforeEach(async () => {
  ({ client, namespace } = await setup('am-remedy'));
});
afterEach(async () => {
  await Promise.all(controllers.splice(0).map((c) => c.stop()));
});

afterAll(closeClients);

describe('remedy with real Argo', () => {
  it('a failing check triggers the remedy, which respects the limit and the reset interval', async () => {
    const remedyNamespace = await createTestNamespace(testKubeConfig(), 'am-remedy-fix');
    const clock = fastClock('2026-03-01T00:00:00Z', 30); // 60 s = 2 s real
    controllers.push(await startController(namespace, clock));
    const hc = await client.create(
      healthCheckResource,
      healthCheck(namespace, 'failing', {
        repeatAfterSec: 60,
        remedyRunsLimit: 2,
        remedyResetInterval: 600,
        workflow: checkBlock(namespace, inlineWorkflow({ [ARGO_FAIL]: 'dns lookup failed' })),
        remedyworkflow: {
          generateName: 'restart-dns-',
          workflowtimeout: 3000,
          resource: {
            namespace: remedyNamespace,
            serviceAccount: 'fixer',
            source: { inline: inlineWorkflow() },
          },
        },
      }),
    );
    const neverOverlapping = sampleInvariant('a check and a remedy never run at once', async () => {
      const active = (await workflowsOf(client, hc)).filter(running);
      return active.length > 1
        ? active.map((w) => `${w.metadata.labels?.[RUN_TYPE_LABEL]}:${w.metadata.name}`).join(', ')
        : undefined;
    });
    const exhausted = await waitHc(client, namespace, 'failing', 'remedy exhausted', (h) =>
      Boolean(h.status?.conditions?.some((c) => c.type === 'RemedyExhausted' && c.status === 'True')),
    );
    let st = exhausted.status!;
    expect(st.remedyTotalRuns).toBe(2);
    expect(st.remedySuccessCount).toBe(2);
    expect(st.remedyStatus).toMatch(/limit of 2 runs reached/);
    expect(st.errorMessage).toBe('dns lookup failed');
    expect(st.lastRemedyWorkflow).toMatch(/^restart-dns-r/);
    // Remedies never overwrite the check's last workflow fields (an upstream bug).
    expect(st.lastFailedWorkflow).toMatch(/^probe-/);
    const failedAtExhaustion = st.failedCount!;

    // More failures inside the reset interval: no third remedy.
    st = (
      await waitHc(
        client,
        namespace,
        'failing',
        'two more failed checks',
        (h) => h.status!.failedCount! >= failedAtExhaustion + 2,
      )
    ).status!;
    expect(st.remedyTotalRuns).toBe(2);
    const remedies = (await workflowsOf(client, hc)).filter(
      (w) => w.metadata.labels?.[RUN_TYPE_LABEL] === 'remedy',
    );
    expect(remedies).toHaveLength(2);
    expect(
      remedies.every((w) => w.metadata.namespace === remedyNamespace && w.status?.phase === 'Succeeded'),
    ).toBe(true);

    // Once remedyResetInterval has passed since the last remedy finished, the counters reset: the
    // remedy runs again, up to the limit (two more), then is exhausted again.
    clock.advance(600_000);
    const remediesOf = async () =>
      (await workflowsOf(client, hc)).filter((w) => w.metadata.labels?.[RUN_TYPE_LABEL] === 'remedy');
    await waitFor(async () => (await remediesOf()).length >= 4, {
      description: 'two remedies after the reset',
      timeoutMs: 60_000,
    });
    st = (
      await waitHc(
        client,
        namespace,
        'failing',
        'exhausted again',
        (h) =>
          h.status?.currentRun?.type !== 'remedy' &&
          h.status?.remedyTotalRuns === 2 &&
          Boolean(h.status?.conditions?.some((c) => c.type === 'RemedyExhausted' && c.status === 'True')),
      )
    ).status!;
    const failedNow = st.failedCount!;
    await waitHc(
      client,
      namespace,
      'failing',
      'another failed check',
      (h) => h.status!.failedCount! > failedNow,
    );
    const all = await remediesOf();
    if (all.length !== 4)
      console.log(
        JSON.stringify(
          {
            all: all.map((w) => [w.metadata.name, w.metadata.creationTimestamp]),
            st: await client.get(healthCheckResource, 'failing', namespace),
          },
          null,
          1,
        ),
      );
    expect(all).toHaveLength(4);
    await neverOverlapping.stop();
  });

  it('deleting the HealthCheck removes its RBAC objects and metric series', async () => {
    const clock = fastClock('2026-03-01T00:00:00Z', 30);
    const ctl = await startController(namespace, clock);
    controllers.push(ctl);
    const hc = await client.create(
      healthCheckResource,
      healthCheck(namespace, 'cluster-probe', {
        level: 'cluster',
        repeatAfterSec: 60,
        workflow: checkBlock(namespace, inlineWorkflow()),
        remedyworkflow: {
          resource: { namespace, serviceAccount: 'probe-sa', source: { inline: inlineWorkflow() } },
        },
      }),
    );
    await waitHc(
      client,
      namespace,
      'cluster-probe',
      'one success',
      (h) => (h.status?.successCount ?? 0) >= 1,
    );
    const selector = `${HEALTHCHECK_UID_LABEL}=${hc.metadata.uid}`;
    const names = async () => {
      const out: string[] = [];
      for (const r of Object.values(RbacResources)) {
        for (const o of (await client.list(r, { labelSelector: selector })).items)
          out.push(`${r.kind}/${o.metadata.name}`);
      }
      return out.sort();
    };
    const base = `activemonitor-${namespace}-cluster-probe`;
    expect(await names()).toEqual([
      `ClusterRole/${base}`,
      `ClusterRole/${base}-remedy`,
      `ClusterRoleBinding/${base}`,
      `ClusterRoleBinding/${base}-remedy`,
      'ServiceAccount/probe-sa',
      'ServiceAccount/probe-sa-remedy', // upstream's rule: a remedy sharing the check's SA gets -remedy
    ]);
    const labels = { namespace, healthcheck_name: 'cluster-probe', workflow: 'healthCheck' };
    expect(await metricSample(ctl.registry, 'healthcheck_success_count', labels)).toBeGreaterThanOrEqual(1);

    await client.delete(healthCheckResource, 'cluster-probe', namespace);
    await waitFor(
      async () => !(await client.getOrUndefined(healthCheckResource, 'cluster-probe', namespace)),
      {
        description: 'HealthCheck gone',
        timeoutMs: 30_000,
      },
    );
    expect(await names()).toEqual([]);
    for (const name of [
      'healthcheck_success_count',
      'healthcheck_last_result',
      'healthcheck_starttime',
      'healthcheck_finishedtime',
    ]) {
      expect(await metricSample(ctl.registry, name, labels)).toBeUndefined();
    }
    expect((await ctl.registry.metrics()).includes('healthcheck_name="cluster-probe"')).toBe(false);
  });
});
