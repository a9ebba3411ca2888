/**
 * A check whose Workflow Argo deletes the moment it finishes (`ttlStrategy.secondsAfterCompletion: 0`,
 * a common way to keep probe Workflows from piling up) is counted by its outcome. The informer's
 * delete event carries the finished Workflow, and the controller keeps it until the pass has counted
 * it, instead of recording "workflow disappeared before it finished" as an Error.
 *
 * With real Argo the pass usually counts the Workflow before the delete arrives, so the first test
 * (which also proves Argo deletes them) passes with or without the fix. The second makes the order
 * deterministic: the run's Workflow is deleted while still running, after the controller was told
 * (as its delete handler would be) that it had been seen deleted in a finished phase.
 */
import { expect, it } from '@jest/globals';
import { waitFor } from '@keiko/testkit';
import { healthCheckResource } from '../src/api/healthcheck.js';
import { type Workflow, workflowResource } from '../src/workflow/build.js';
import {
  ARGO_DELAY,
  checkBlock,
  fastClock,
  healthCheck,
  inlineWorkflow,
  perTestNamespace,
  waitHc,
} from './support.js';

const t = perTestNamespace('am-ttl');

it('runs whose Workflows Argo deletes on completion are counted as Succeeded, never as Error', async () => {
  await t.start(fastClock('2026-03-01T00:00:00Z', 30));
  const { client, namespace } = t;
  const source = inlineWorkflow().replace(
    'spec:\n  entrypoint: main',
    'spec:\n  ttlStrategy:\n    secondsAfterCompletion: 0\n  entrypoint: main',
  );
  await client.create(
    healthCheckResource,
    healthCheck(namespace, 'ttl', { repeatAfterSec: 60, workflow: checkBlock(namespace, source) }),
  );
  const done = await waitHc(
    client,
    namespace,
    'ttl',
    'five finished runs',
    (h) => (h.status?.totalHealthCheckRuns ?? 0) >= 5,
    120_000,
  );
  const runs = done.status!.history!.filter((r) => r.type === 'check');
  expect(runs.map((r) => `${r.phase}: ${r.message ?? ''}`)).toEqual(runs.map(() => 'Succeeded: '));
  expect(done.status!.failedCount ?? 0).toBe(0);
  // Argo does delete them (the newest may take a moment): none of the counted runs' Workflows stays.
  await waitFor(
    async () => {
      for (const r of runs) {
        if (await client.getOrUndefined(workflowResource, r.workflow, r.namespace)) return false;
      }
      return true;
    },
    { timeoutMs: 30_000, description: "Argo's ttlStrategy to delete the counted Workflows" },
  );
}, 180_000);

it('a run whose Workflow was seen deleted in a finished phase is counted by that phase', async () => {
  const controller = await t.start(fastClock('2026-03-01T00:00:00Z', 30));
  const { client, namespace } = t;
  // Held by the kwok stage for 10 minutes: the run stays Running until the test deletes it.
  await client.create(
    healthCheckResource,
    healthCheck(namespace, 'seen', {
      repeatAfterSec: 3600,
      workflow: checkBlock(namespace, inlineWorkflow({ [ARGO_DELAY]: '10m' })),
    }),
  );
  const started = await waitHc(client, namespace, 'seen', 'a run', (h) => Boolean(h.status?.currentRun));
  const run = started.status!.currentRun!;
  const wf = await client.get<Workflow>(workflowResource, run.workflow, run.namespace);
  controller.reconciler.rememberDeletedFinished({
    ...wf,
    status: { ...wf.status, phase: 'Succeeded', finishedAt: new Date().toISOString() },
  } as Workflow);
  await client.delete(workflowResource, run.workflow, run.namespace);
  const done = await waitHc(client, namespace, 'seen', 'the run counted', (h) => !h.status?.currentRun);
  expect(done.status!.history![0]).toMatchObject({ workflow: run.workflow, phase: 'Succeeded' });
  expect(done.status!.successCount).toBe(1);
  expect(done.status!.failedCount ?? 0).toBe(0);
}, 120_000);
