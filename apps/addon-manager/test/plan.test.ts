/** The lifecycle planner, table-driven: given an Addon, its workflows and dependencies, what happens next. */
import { describe, expect, it } from '@jest/globals';
import type { Addon, AddonStatus } from '../src/api/addon.js';
import type { Workflow } from '../src/api/workflow.js';
import type { Resolution } from '../src/lifecycle/dependencies.js';
import { LABEL_RUN, LABEL_STEP, runId, type Step } from '../src/lifecycle/naming.js';
import {
  FINALIZER,
  FORCE_DELETE_ANNOTATION,
  type PlanInput,
  planAddon,
  RETRY_ANNOTATION,
} from '../src/lifecycle/plan.js';
import { addon } from './support.js';

const HASH = 'aaaaaaaaaaaaaaaa';
const RUN = runId(HASH, undefined);
const NOW = 1_000_000_000;
const met: Resolution = { state: 'Met' };

function subject(status?: AddonStatus, extra: Partial<Addon['metadata']> = {}): Addon {
  const a = addon('ns', 'demo');
  return {
    ...a,
    metadata: { ...a.metadata, uid: 'u1', generation: 1, finalizers: [FINALIZER], ...extra },
    ...(status ? { status } : {}),
  };
}

function wf(step: Step, phase: string | undefined, run = RUN, message?: string): Workflow {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name: `demo-${step}-${run}`, labels: { [LABEL_STEP]: step, [LABEL_RUN]: run } },
    spec: {},
    ...(phase ? { status: { phase, ...(message ? { message } : {}) } } : {}),
  };
}

const running = (prereqs: string, installed: string, extra: Partial<AddonStatus> = {}): AddonStatus => ({
  checksum: HASH,
  starttime: NOW - 1000,
  lifecycle: { prereqs, installed },
  ...extra,
});

function plan(a: Addon, over: Partial<PlanInput> = {}) {
  return planAddon({
    addon: a,
    specHash: HASH,
    templateProblems: [],
    dependencies: met,
    workflows: [],
    missingSecrets: [],
    now: NOW,
    installTimeoutMs: 3_600_000,
    deleteTimeoutMs: 600_000,
    ...over,
  });
}

describe('planAddon: install', () => {
  it.each<
    [
      string,
      Addon,
      Partial<PlanInput>,
      { create: Step[]; prereqs?: string; installed?: string; purge?: boolean },
    ]
  >([
    [
      'a new addon submits prereqs',
      subject(),
      {},
      { create: ['prereqs'], prereqs: 'Pending', installed: 'Pending' },
    ],
    [
      'prereqs running: nothing new',
      subject(running('Pending', 'Pending')),
      { workflows: [wf('prereqs', 'Running')] },
      { create: [], prereqs: 'Pending', installed: 'Pending' },
    ],
    [
      'prereqs succeeded: install is submitted',
      subject(running('Pending', 'Pending')),
      { workflows: [wf('prereqs', 'Succeeded')] },
      { create: ['install'], prereqs: 'Succeeded', installed: 'Pending' },
    ],
    [
      'install succeeded',
      subject(running('Succeeded', 'Pending')),
      { workflows: [wf('install', 'Succeeded')] },
      { create: [], prereqs: 'Succeeded', installed: 'Succeeded' },
    ],
    [
      'a workflow created before a restart (status not written) is adopted, not created twice',
      subject(running('Pending', 'Pending')),
      { workflows: [wf('prereqs', 'Running')] },
      { create: [], prereqs: 'Pending' },
    ],
    [
      'Succeeded with its workflows garbage-collected by Argo: no re-run',
      subject(running('Succeeded', 'Succeeded')),
      { workflows: [] },
      { create: [], installed: 'Succeeded' },
    ],
    [
      'the spec changed: a new run, old workflows purged',
      subject(running('Succeeded', 'Succeeded', { checksum: 'bbbbbbbbbbbbbbbb' })),
      { workflows: [wf('install', 'Succeeded', 'bbbbbbbbbb')] },
      { create: ['prereqs'], prereqs: 'Pending', installed: 'Pending', purge: true },
    ],
    [
      'a workflow of an older run does not count for the current one',
      subject(running('Pending', 'Pending')),
      { workflows: [wf('prereqs', 'Succeeded', 'cccccccccc')] },
      { create: ['prereqs'] },
    ],
    [
      'an upstream checksum on a Succeeded addon is adopted without a re-run',
      subject(running('Succeeded', 'Succeeded', { checksum: '7f3a01bc' })),
      {},
      { create: [], installed: 'Succeeded' },
    ],
    [
      'a dependency still pending: Pending, nothing submitted',
      subject(),
      { dependencies: { state: 'Waiting', blockers: [] } },
      { create: [], installed: 'Pending' },
    ],
    [
      'a dependency missing: Validation Failed',
      subject(),
      { dependencies: { state: 'Missing', blockers: [] } },
      { create: [], installed: 'Validation Failed' },
    ],
    [
      'a cycle: Validation Failed',
      subject(),
      { dependencies: { state: 'Cycle', cycle: ['a', 'a'] } },
      { create: [], installed: 'Validation Failed' },
    ],
    [
      'dependencies do not stop a run already started',
      subject(running('Succeeded', 'Pending')),
      { dependencies: { state: 'Missing', blockers: [] }, workflows: [wf('install', 'Running')] },
      { create: [], installed: 'Pending' },
    ],
    [
      'a template problem: Validation Failed, nothing submitted',
      subject(),
      { templateProblems: ['spec.x: bad'] },
      { create: [], installed: 'Validation Failed' },
    ],
    [
      'missing secrets hold the install',
      subject(running('Succeeded', 'Pending')),
      { missingSecrets: ['creds'] },
      { create: [], installed: 'Pending' },
    ],
  ])('%s', (_what, a, over, expected) => {
    const p = plan(a, over);
    expect(p.create).toEqual(expected.create);
    if (expected.prereqs) expect(p.status.lifecycle?.prereqs).toBe(expected.prereqs);
    if (expected.installed) expect(p.status.lifecycle?.installed).toBe(expected.installed);
    expect(p.purgeOtherRuns).toBe(expected.purge ?? false);
    expect(p.status.checksum).toBe(HASH);
  });

  it('a failed install carries the workflow message into status.reason', () => {
    const p = plan(subject(running('Succeeded', 'Pending')), {
      workflows: [wf('install', 'Failed', RUN, "child 'x' failed")],
    });
    expect(p.status.lifecycle?.installed).toBe('Failed');
    expect(p.status.reason).toBe(`install workflow demo-install-${RUN} Failed: child 'x' failed`);
    expect(p.events.map((e) => e.reason)).toEqual(['Failed']);
  });

  it('failed prereqs fail the addon and never submit install', () => {
    const p = plan(subject(running('Pending', 'Pending')), {
      workflows: [wf('prereqs', 'Error', RUN, 'deadline exceeded')],
    });
    expect(p.create).toEqual([]);
    expect(p.status.lifecycle).toEqual({ prereqs: 'Failed', installed: 'Failed' });
  });

  it('the retry annotation starts a new run with new workflow names', () => {
    const failed = subject(running('Succeeded', 'Failed'), { annotations: { [RETRY_ANNOTATION]: 'try-2' } });
    const p = plan(failed);
    expect(p.run).toBe(runId(HASH, 'try-2'));
    expect(p.run).not.toBe(RUN);
    expect(p.create).toEqual(['prereqs']);
    expect(p.status.retry).toBe('try-2');
    expect(p.purgeOtherRuns).toBe(true);
    // Honoured once: the same token again changes nothing.
    const again = plan(
      subject(
        { ...running('Succeeded', 'Failed'), retry: 'try-2' },
        { annotations: { [RETRY_ANNOTATION]: 'try-2' } },
      ),
    );
    expect(again.create).toEqual([]);
  });

  it('a run past the install timeout is Failed; before it, a requeue at the deadline', () => {
    const old = subject(running('Pending', 'Pending', { starttime: NOW - 3_600_000 }));
    expect(plan(old, { workflows: [wf('prereqs', 'Running')] }).status.lifecycle?.installed).toBe('Failed');
    const young = plan(subject(running('Pending', 'Pending')), { workflows: [wf('prereqs', 'Running')] });
    expect(young.requeueAfterMs).toBe(3_600_000 - 1000);
  });

  it('adds the finalizer before any workflow exists', () => {
    expect(plan(subject(undefined, { finalizers: [] })).addFinalizer).toBe(true);
  });
});

describe('planAddon: delete', () => {
  const deleting = (status: AddonStatus, annotations: Record<string, string> = {}, at = NOW - 1000) =>
    subject(status, { deletionTimestamp: new Date(at).toISOString(), annotations });
  const withoutDelete = (a: Addon) => {
    delete a.spec.lifecycle!.delete;
    return a;
  };
  const withDelete = (a: Addon) => {
    a.spec.lifecycle!.delete = { template: a.spec.lifecycle!.install!.template };
    return a;
  };

  it.each<[string, Addon, Workflow[], { create?: Step[]; installed?: string; release: boolean }]>([
    [
      'no delete template: the finalizer goes at once',
      withoutDelete(deleting(running('Succeeded', 'Succeeded'))),
      [],
      { release: true },
    ],
    [
      'the delete workflow is submitted',
      withDelete(deleting(running('Succeeded', 'Succeeded'))),
      [],
      { create: ['delete'], installed: 'Deleting', release: false },
    ],
    [
      'the delete workflow runs',
      withDelete(deleting(running('Succeeded', 'Deleting'))),
      [wf('delete', 'Running')],
      { installed: 'Deleting', release: false },
    ],
    [
      'the delete workflow succeeded',
      withDelete(deleting(running('Succeeded', 'Deleting'))),
      [wf('delete', 'Succeeded')],
      { installed: 'Delete Succeeded', release: true },
    ],
    [
      'the delete workflow failed: the finalizer stays',
      withDelete(deleting(running('Succeeded', 'Deleting'))),
      [wf('delete', 'Failed')],
      { installed: 'Delete Failed', release: false },
    ],
    [
      'failed, with force-delete: released',
      withDelete(deleting(running('Succeeded', 'Deleting'), { [FORCE_DELETE_ANNOTATION]: 'true' })),
      [wf('delete', 'Failed')],
      { installed: 'Delete Failed', release: true },
    ],
    [
      'past the delete timeout: Delete Failed',
      withDelete(deleting(running('Succeeded', 'Deleting'), {}, NOW - 600_000)),
      [wf('delete', 'Running')],
      { installed: 'Delete Failed', release: false },
    ],
  ])('%s', (_what, a, workflows, expected) => {
    const p = plan(a, { workflows });
    expect(p.create).toEqual(expected.create ?? []);
    if (expected.installed) expect(p.status.lifecycle?.installed).toBe(expected.installed);
    expect(p.removeFinalizer).toBe(expected.release);
  });
});
