/**
 * Restart safety with the real Argo workflow-controller: stopping the controller mid-run and starting
 * a new one neither loses the run nor starts a duplicate; a long outage runs ONE catch-up check, not
 * a burst.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { KubeClient } from '@keiko/operator-kit';
import { waitFor } from '@keiko/testkit';
import { healthCheckResource } from '../src/api/healthcheck.js';
import { type Workflow, workflowResource } from '../src/workflow/build.js';
import {
  ARGO_DELAY,
  checkBlock,
  closeClients,
  fastClock,
  getHc,
  healthCheck,
  inlineWorkflow,
  metricSample,
  type RunningController,
  setup,
  startController,
  waitHc,
  workflowsOf,
} from './support.js';

let client: KubeClient;
let namespace: string;
const controllers: RunningController[] = [];

beforeEach(async () => {
  ({ client, namespace } = await setup('am-restart'));
});
afterEach(async () => {
  await Promise.all(controllers.splice(0).map((c) => c.stop()));
});

afterAll(closeClients);

describe('restart safety', () => {
  it('a controller stopped mid-run: the new one finishes that run, no duplicate, and a long outage runs once', async () => {
    const clock = fastClock('2026-03-01T00:00:00Z', 30);
    const first = await startController(namespace, clock);
    controllers.push(first);
    const hc = await client.create(
      healthCheckResource,
      healthCheck(namespace, 'restart', {
        repeatAfterSec: 3600,
        workflow: checkBlock(namespace, inlineWorkflow({ [ARGO_DELAY]: '3s' }), { workflowtimeout: 3000 }),
      }),
    );
    const running = await waitHc(client, namespace, 'restart', 'run started', (h) =>
      Boolean(h.status?.currentRun),
    );
    const run = running.status!.currentRun!;
    await first.stop();

    // Argo finishes the workflow while no active-monitor runs; nothing is counted yet.
    await waitFor(
      async () =>
        (await client.get<Workflow>(workflowResource, run.workflow, namespace)).status?.phase === 'Succeeded',
      { description: 'workflow finished by Argo', timeoutMs: 60_000 },
    );
    expect((await getHc(client, namespace, 'restart')).status).toMatchObject({ currentRun: run });

    const second = await startController(namespace, clock);
    controllers.push(second);
    const done = await waitHc(
      client,
      namespace,
      'restart',
      'run counted',
      (h) => !h.status?.currentRun && h.status?.successCount === 1,
    );
    expect(done.status!.lastSuccessfulWorkflow).toBe(run.workflow);
    expect(done.status!.lastScheduleTime).toBe(run.scheduledAt);
    expect(Date.parse(done.status!.nextRunAt!) - Date.parse(run.scheduledAt!)).toBe(3_600_000);
    expect((await workflowsOf(client, hc)).map((w) => w.metadata.name)).toEqual([run.workflow]);
    await second.stop();

    // Down for 3.5 hours (3 hourly slots passed): one catch-up run for the latest slot.
    clock.advance(210 * 60_000);
    const third = await startController(namespace, clock);
    controllers.push(third);
    const caughtUp = await waitHc(
      client,
      namespace,
      'restart',
      'catch-up counted',
      (h) => h.status?.successCount === 2 && !h.status?.currentRun,
    );
    expect(Date.parse(caughtUp.status!.lastScheduleTime!) - Date.parse(run.scheduledAt!)).toBe(3 * 3_600_000);
    expect(await workflowsOf(client, hc)).toHaveLength(2);
    expect(
      await metricSample(third.registry, 'healthcheck_missed_schedules_total', {
        namespace,
        healthcheck_name: 'restart',
      }),
    ).toBe(2);
    expect(Date.parse(caughtUp.status!.nextRunAt!)).toBeGreaterThan(clock.now().getTime());
  });
});
