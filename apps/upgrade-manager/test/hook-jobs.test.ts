/** Table tests of the pure parts of hooks: which hooks run when, the Job manifest, a Job's outcome. */
import { describe, expect, test } from '@jest/globals';
import type { RollingUpgrade, RollingUpgradeSpec } from '../src/api/rollingupgrade.js';
import { hookJob, hookJobName, hooksAt, jobOutcome } from '../src/controller/hooks.js';

const ru = (spec: Partial<RollingUpgradeSpec>, namespace = 'rolls'): RollingUpgrade => ({
  apiVersion: 'upgrademgr.keikoproj.io/v1alpha1',
  kind: 'RollingUpgrade',
  metadata: { name: 'roll', namespace, uid: '0b7e1f9a-2f7c-4c8e-9d7e-4b1c2d3e4f50' },
  spec: { asgName: 'workers', ...spec },
});

describe('hooksAt', () => {
  test.each([
    ['nothing configured', {}, [], [], []],
    [
      'upstream scripts',
      {
        preDrain: { script: 'a' },
        postDrain: { script: 'b', postWaitScript: 'c' },
        postTerminate: { script: 'd' },
      },
      [['preDrain', ['sh', '-c', 'a']]],
      [
        ['postDrain', ['sh', '-c', 'b']],
        ['postWait', ['sh', '-c', 'c']],
      ],
      [['postTerminate', ['sh', '-c', 'd']]],
    ],
    [
      'command wins over script; postWait keeps its script',
      {
        postDrain: { script: 'b', command: ['/x'], postWaitScript: 'c' },
      },
      [],
      [
        ['postDrain', ['/x']],
        ['postWait', ['sh', '-c', 'c']],
      ],
      [],
    ],
    ['postDrain.waitSeconds alone runs nothing', { postDrain: { waitSeconds: 30 } }, [], [], []],
  ] as const)('%s', (_, spec, before, after, terminate) => {
    const s = spec as Partial<RollingUpgradeSpec>;
    const view = (point: 'beforeDrain' | 'afterDrain' | 'afterTerminate') =>
      hooksAt({ asgName: 'w', ...s }, point).map((h) => [h.name, h.command]);
    expect(view('beforeDrain')).toEqual(before);
    expect(view('afterDrain')).toEqual(after);
    expect(view('afterTerminate')).toEqual(terminate);
  });
});

test('hookJobName is deterministic, distinct per uid/instance/hook, a valid name under 64 characters', () => {
  const a = hookJobName('uid-1', 'i-0123456789abcdef0', 'postTerminate');
  expect(a).toBe(hookJobName('uid-1', 'i-0123456789abcdef0', 'postTerminate'));
  expect(a).not.toBe(hookJobName('uid-2', 'i-0123456789abcdef0', 'postTerminate'));
  expect(a).not.toBe(hookJobName('uid-1', 'i-0123456789abcdef1', 'postTerminate'));
  expect(a).not.toBe(hookJobName('uid-1', 'i-0123456789abcdef0', 'preDrain'));
  expect(a.length).toBeLessThan(64);
  expect(a).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
});

test('the Job: fixed env wins over user env, deadline, no retries, owner only in the same namespace', () => {
  const r = ru({
    preDrain: {
      script: 'x',
      env: [
        { name: 'INSTANCE_ID', value: 'spoof' },
        { name: 'A', value: '1' },
      ],
    },
  });
  const [hook] = hooksAt(r.spec, 'beforeDrain');
  const job = hookJob(
    r,
    hook!,
    { asgName: 'workers', instanceId: 'i-1', nodeName: 'ip-1' },
    'rolls',
    'busybox:1.37',
  );
  const spec = job.spec as {
    backoffLimit: number;
    activeDeadlineSeconds: number;
    template: { spec: { containers: { image: string; env: { name: string; value: string }[] }[] } };
  };
  expect(spec.backoffLimit).toBe(0);
  expect(spec.activeDeadlineSeconds).toBe(600);
  const c = spec.template.spec.containers[0]!;
  expect(c.image).toBe('busybox:1.37');
  expect(c.env).toEqual([
    { name: 'A', value: '1' },
    { name: 'ASG_NAME', value: 'workers' },
    { name: 'INSTANCE_ID', value: 'i-1' },
    { name: 'INSTANCE_NAME', value: 'ip-1' },
  ]);
  expect(job.metadata.ownerReferences?.[0]?.uid).toBe(r.metadata.uid);
  const elsewhere = hookJob(r, hook!, { asgName: 'workers', instanceId: 'i-1' }, 'hooks', 'busybox:1.37');
  expect(elsewhere.metadata.ownerReferences).toBeUndefined();
  expect(elsewhere.metadata.annotations?.['upgrademgr.keikoproj.io/rollingupgrade']).toBe('rolls/roll');
});

describe('jobOutcome', () => {
  const created = '2026-01-01T00:00:00Z';
  const at = (s: number) => new Date(Date.parse(created) + s * 1000);
  const job = (status: object) => ({ metadata: { creationTimestamp: created }, status });
  test.each([
    ['no status yet', {}, 10, { result: 'Running' }],
    ['complete', { conditions: [{ type: 'Complete', status: 'True' }] }, 10, { result: 'Succeeded' }],
    [
      'failed',
      {
        conditions: [
          {
            type: 'Failed',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
          },
        ],
      },
      10,
      { result: 'Failed', message: 'BackoffLimitExceeded: Job has reached the specified backoff limit' },
    ],
    [
      'deadline',
      { conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }] },
      10,
      { result: 'Failed', message: 'timed out after 5s' },
    ],
    [
      'never finished, long past the timeout',
      {},
      5 + 61,
      { result: 'Failed', message: 'timed out after 5s (the Job never finished)' },
    ],
    [
      'a False condition is not an outcome',
      { conditions: [{ type: 'Failed', status: 'False' }] },
      10,
      { result: 'Running' },
    ],
  ] as const)('%s', (_, status, seconds, outcome) => {
    expect(jobOutcome(job(status), at(seconds), 5)).toEqual(outcome);
  });
});
