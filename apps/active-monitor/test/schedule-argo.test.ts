/**
 * Integration with the real Argo workflow-controller (testkit, kwok finishing workflow pods) and a
 * scaled clock as fake timers: interval counting, timeouts, cron wall-clock minutes.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { KubeClient } from '@keiko/operator-kit';
import { healthCheckResource } from '../src/api/healthcheck.js';
import type { Workflow } from '../src/workflow/build.js';
import { SCHEDULED_AT_ANNOTATION, workflowResource } from '../src/workflow/build.js';
import {
  ARGO_DELAY,
  checkBlock,
  closeClients,
  fastClock,
  healthCheck,
  inlineWorkflow,
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

// One namespace (and one controller, on its own clock) per test.
beforeEach(async () => {
  ({ client, namespace } = await setup('am-sched'));
});
afterEach(async () => {
  await Promise.all(controllers.splice(0).map((c) => c.stop()));
});

afterAll(closeClients);

describe('scheduling with real Argo', () => {
  it('a passing check counts successes at its interval, one run at a time', async () => {
    const clock = fastClock('2026-03-01T00:00:00Z', 30); // 60 s of schedule = 2 s real
    controllers.push(await startController(namespace, clock));
    const hc = await client.create(
      healthCheckResource,
      healthCheck(namespace, 'interval', {
        repeatAfterSec: 60,
        workflow: checkBlock(namespace, inlineWorkflow()),
      }),
    );
    const oneAtATime = sampleInvariant('at most one unfinished workflow per HealthCheck', async () => {
      const active = (await workflowsOf(client, hc)).filter(running);
      return active.length > 1
        ? `${active.length} active: ${active.map((w) => w.metadata.name).join(', ')}`
        : undefined;
    });
    const done = await waitHc(
      client,
      namespace,
      'interval',
      'three successes',
      (h) => (h.status?.successCount ?? 0) >= 3,
    );
    expect(await oneAtATime.stop()).toBeGreaterThan(5);
    const st = done.status!;
    expect(st.failedCount ?? 0).toBe(0);
    expect(st.status).toBe('Succeeded');
    expect(st.totalHealthCheckRuns).toBe(st.successCount);
    // Fixed rate: the check slots lie exactly 60 s apart (schedule time, from the injected clock).
    const slots = st
      .history!.filter((r) => r.type === 'check')
      .map((r) => Date.parse(r.scheduledAt!))
      .reverse();
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBe(60_000);
    expect(Date.parse(st.nextRunAt!) - Date.parse(st.lastScheduleTime!)).toBe(60_000);
    expect(st.conditions?.find((c) => c.type === 'Healthy')).toMatchObject({
      status: 'True',
      reason: 'RunSucceeded',
    });
    expect(st.observedGeneration).toBe(done.metadata.generation);
    // Every finished run is a real Argo Workflow that Succeeded, with upstream's defaults applied.
    const wfs = await workflowsOf(client, hc);
    const succeeded = wfs.filter((w) => w.status?.phase === 'Succeeded');
    expect(succeeded.length).toBeGreaterThanOrEqual(3);
    expect(succeeded[0]!.spec).toMatchObject({
      serviceAccountName: 'probe-sa',
      podGC: { strategy: 'OnPodCompletion' },
    });
    expect(succeeded[0]!.metadata.labels?.['workflows.argoproj.io/controller-instanceid']).toBe(
      'activemonitor-workflows',
    );
    // Each Workflow names the slot it ran for (what drift is measured against).
    const slotOf = new Map(st.history!.map((r) => [r.workflow, r.scheduledAt]));
    const recorded = succeeded.filter((w) => slotOf.has(w.metadata.name as string));
    expect(recorded.length).toBeGreaterThanOrEqual(3);
    for (const w of recorded) {
      expect(w.metadata.annotations?.[SCHEDULED_AT_ANNOTATION]).toBe(slotOf.get(w.metadata.name as string));
    }
  });

  it('a run that exceeds workflowtimeout is counted failed and its workflow stopped', async () => {
    const clock = fastClock('2026-03-01T00:00:00Z', 30);
    controllers.push(await startController(namespace, clock));
    await client.create(
      healthCheckResource,
      healthCheck(namespace, 'slow', {
        repeatAfterSec: 3600,
        workflow: checkBlock(namespace, inlineWorkflow({ [ARGO_DELAY]: '10m' }), { workflowtimeout: 60 }),
      }),
    );
    const done = await waitHc(
      client,
      namespace,
      'slow',
      'timed out',
      (h) => (h.status?.failedCount ?? 0) >= 1,
    );
    const st = done.status!;
    expect(st.successCount ?? 0).toBe(0);
    expect(st.history![0]).toMatchObject({ type: 'check', phase: 'TimedOut' });
    expect(st.errorMessage).toMatch(/timed out after 60s/);
    expect(st.currentRun).toBeUndefined();
    expect(st.conditions?.find((c) => c.type === 'Healthy')).toMatchObject({
      status: 'False',
      reason: 'RunTimedOut',
    });
    const wf = await client.get<Workflow>(workflowResource, st.lastFailedWorkflow!, namespace);
    expect(wf.spec.shutdown).toBe('Stop');
  });

  it('a cron schedule fires at the right wall-clock minutes in its time zone', async () => {
    // Asia/Kathmandu is UTC+05:45: "*/10 * * * *" there fires at :05, :15, :25 ... UTC.
    const clock = fastClock('2026-03-01T00:07:00Z', 120); // 10 min of schedule = 5 s real
    controllers.push(await startController(namespace, clock));
    await client.create(
      healthCheckResource,
      healthCheck(namespace, 'cron', {
        schedule: { cron: 'CRON_TZ=Asia/Kathmandu */10 * * * *' },
        workflow: checkBlock(namespace, inlineWorkflow(), { workflowtimeout: 3000 }),
      }),
    );
    const first = await waitHc(client, namespace, 'cron', 'scheduled', (h) => Boolean(h.status?.nextRunAt));
    expect(first.status!.nextRunAt).toBe('2026-03-01T00:15:00Z');
    const done = await waitHc(
      client,
      namespace,
      'cron',
      'two runs',
      (h) => (h.status?.successCount ?? 0) >= 2,
      90_000,
    );
    const runs = done.status!.history!.filter((r) => r.type === 'check').reverse();
    expect(runs.map((r) => r.scheduledAt)).toEqual(['2026-03-01T00:15:00Z', '2026-03-01T00:25:00Z']);
    for (const r of runs) expect(Date.parse(r.startedAt)).toBeGreaterThanOrEqual(Date.parse(r.scheduledAt!));
    expect(done.status!.nextRunAt).toBe('2026-03-01T00:35:00Z');
  });
});
