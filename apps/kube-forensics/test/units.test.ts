/** Pure decisions: destinations, container selection, capture progress, the Job, configuration. */
import { describe, expect, test } from '@jest/globals';
import type { PodCheckpoint } from '../src/api/podcheckpoint.js';
import { selectContainers } from '../src/checkpoint/containers.js';
import { bucketAllowed, captureLocation, parseDestination } from '../src/checkpoint/destination.js';
import { buildCaptureJob, captureJobName, type JobObject } from '../src/checkpoint/job.js';
import { captureProgress } from '../src/checkpoint/progress.js';
import { DEFAULTS, parseConfig } from '../src/config.js';

describe('destination', () => {
  test.each([
    ['s3://bkt', { bucket: 'bkt', prefix: '' }],
    ['s3://bkt/', { bucket: 'bkt', prefix: '' }],
    ['s3://bkt/a/b/', { bucket: 'bkt', prefix: 'a/b' }],
    ['s3://bkt//a//b', { bucket: 'bkt', prefix: 'a/b' }],
    ['gs://bkt', undefined],
    ['s3://B', undefined],
  ])('%s', (uri, expected) => expect(parseDestination(uri)).toEqual(expected));

  test('capture directory: <prefix>/<subpath>/<epoch>_<namespace>_<pod>, subpath defaulting to forensics', () => {
    expect(
      captureLocation({ pod: 'bad-pod', destination: 's3://bkt' }, 'default', '2019-08-14T23:19:13Z'),
    ).toEqual({
      bucket: 'bkt',
      prefix: 'forensics/1565824753_default_bad-pod',
    });
    expect(
      captureLocation(
        { pod: 'p', destination: 's3://bkt/cases/', subpath: 'x/' },
        'ns',
        '1970-01-01T00:00:10Z',
      ),
    ).toEqual({
      bucket: 'bkt',
      prefix: 'cases/x/10_ns_p',
    });
  });

  test('allow-list', () => {
    expect(bucketAllowed('any', [])).toBe(true);
    expect(bucketAllowed('evidence-prod', ['evidence-*'])).toBe(true);
    expect(bucketAllowed('exfil', ['evidence-*', 'other'])).toBe(false);
    expect(bucketAllowed('other', ['evidence-*', 'other'])).toBe(true);
  });
});

const status = (name: string, id?: string, running = true) => ({
  name,
  ...(id ? { containerID: id } : {}),
  state: running ? { running: {} } : { terminated: {} },
});

describe('selectContainers', () => {
  const pod = {
    spec: {
      nodeName: 'n1',
      initContainers: [{ name: 'init' }],
      containers: [{ name: 'app' }, { name: 'side' }],
      ephemeralContainers: [{ name: 'debug' }],
    },
    status: {
      initContainerStatuses: [status('init', 'containerd://i1', false)],
      containerStatuses: [status('app', 'containerd://a1'), status('side', 'cri-o://s1')],
      ephemeralContainerStatuses: [status('debug', 'containerd://d1')],
    },
  };

  test('every container by default: init, regular and ephemeral, with their runtimes', () => {
    const s = selectContainers(pod, undefined);
    expect(s.kind).toBe('ready');
    if (s.kind !== 'ready') return;
    expect(s.targets.map((t) => `${t.kind}/${t.name}/${t.runtime}/${t.id}/${t.running}`)).toEqual([
      'init/init/containerd/i1/false',
      'container/app/containerd/a1/true',
      'container/side/cri-o/s1/true',
      'ephemeral/debug/containerd/d1/true',
    ]);
  });

  test('only the containers asked for', () => {
    const s = selectContainers(pod, ['side']);
    expect(s.kind === 'ready' && s.targets.map((t) => t.name)).toEqual(['side']);
  });

  test('an unknown container name fails; an unsupported runtime fails', () => {
    expect(selectContainers(pod, ['nope'])).toMatchObject({ kind: 'fail', reason: 'ContainerNotFound' });
    const rkt = {
      ...pod,
      status: { containerStatuses: [status('app', 'rkt://x'), status('side', 'containerd://s')] },
    };
    expect(selectContainers(rkt, undefined)).toMatchObject({ kind: 'fail', reason: 'UnsupportedRuntime' });
  });

  test('waits for an unscheduled pod and for regular containers without IDs; skips an init container that never ran', () => {
    expect(selectContainers({ spec: {} }, undefined)).toMatchObject({
      kind: 'wait',
      reason: 'PodNotScheduled',
    });
    const partial = { spec: pod.spec, status: { containerStatuses: [status('app', 'containerd://a1')] } };
    expect(selectContainers(partial, undefined)).toMatchObject({
      kind: 'wait',
      reason: 'ContainersNotStarted',
    });
    const initNeverRan = {
      spec: { nodeName: 'n', initContainers: [{ name: 'init' }], containers: [{ name: 'app' }] },
      status: { containerStatuses: [status('app', 'containerd://a1')] },
    };
    expect(selectContainers(initNeverRan, undefined)).toMatchObject({ kind: 'ready', notStarted: ['init'] });
  });
});

const job = (status: JobObject['status']): JobObject => ({ metadata: { name: 'j' }, status });
const cond = (type: string, reason?: string) => ({
  conditions: [{ type, status: 'True', ...(reason ? { reason } : {}) }],
});

describe('captureProgress', () => {
  test.each([
    ['Job created, pod not running', job({}), undefined, undefined, 'Scheduled', 'JobCreated'],
    [
      'worker pod running and ready',
      job({ active: 1, ready: 1 }),
      undefined,
      undefined,
      'Capturing',
      'Capturing',
    ],
    [
      'worker says Capturing',
      job({ active: 1 }),
      { stage: 'Capturing' as const },
      undefined,
      'Capturing',
      'Capturing',
    ],
    [
      'worker says Uploading',
      job({ active: 1 }),
      { stage: 'Uploading' as const },
      undefined,
      'Uploading',
      'Uploading',
    ],
    [
      'worker done, Job not yet complete',
      job({ active: 1 }),
      { stage: 'Succeeded' as const },
      undefined,
      'Uploading',
      'Uploading',
    ],
    [
      'Job complete with the success report',
      job(cond('Complete')),
      { stage: 'Succeeded' as const },
      undefined,
      'Succeeded',
      'Captured',
    ],
    [
      'Job complete without a report (upstream: success)',
      job(cond('Complete')),
      undefined,
      undefined,
      'Failed',
      'WorkerReportMissing',
    ],
    [
      'worker reported a failure',
      job({ active: 1 }),
      { stage: 'Failed' as const, reason: 'ArtifactFailed' },
      undefined,
      'Failed',
      'ArtifactFailed',
    ],
    [
      'Job failed, exit code 4',
      job(cond('Failed', 'BackoffLimitExceeded')),
      undefined,
      { exitCode: 4 },
      'Failed',
      'UploadFailed',
    ],
    [
      'Job past its deadline',
      job(cond('Failed', 'DeadlineExceeded')),
      { stage: 'Uploading' as const },
      undefined,
      'Failed',
      'DeadlineExceeded',
    ],
  ])('%s', (_what, j, report, exit, phase, reason) => {
    expect(captureProgress(j, report, exit)).toMatchObject({ phase, reason });
  });
});

describe('capture Job', () => {
  const cp = {
    apiVersion: 'forensics.keikoproj.io/v1alpha1',
    kind: 'PodCheckpoint',
    metadata: {
      name: 'a.very.long.name-'.repeat(5),
      namespace: 'team',
      uid: 'abcdef12-3456',
      managedFields: [{ manager: 'kubectl-create', operation: 'Update' }],
    },
    spec: { pod: 'p', destination: 's3://b' },
  } as unknown as PodCheckpoint;

  test('name: a valid label value, unique per request', () => {
    const name = captureJobName(cp);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(name.endsWith('-abcdef12')).toBe(true);
  });

  test('flags reach the Job: deadline, TTL, backoff, host network, region, priority class', () => {
    const config = {
      ...DEFAULTS,
      workerNamespace: 'forensics-system',
      jobDeadlineSeconds: 60,
      jobTtlSeconds: 10,
      jobBackoffLimit: 0,
      workerHostNetwork: true,
      workerAwsRegion: 'eu-west-1',
      workerPriorityClass: 'system-node-critical',
    };
    const j = buildCaptureJob({
      checkpoint: cp,
      pod: { metadata: { name: 'p', namespace: 'team', uid: 'u' }, spec: { nodeName: 'n1' } },
      targets: [],
      location: { bucket: 'b', prefix: 'x' },
      config,
    });
    expect(j.spec).toMatchObject({ activeDeadlineSeconds: 60, ttlSecondsAfterFinished: 10, backoffLimit: 0 });
    expect(j.spec!.template!.spec).toMatchObject({
      hostNetwork: true,
      priorityClassName: 'system-node-critical',
      nodeName: 'n1',
    });
    const env = j.spec!.template!.spec!.containers![0]!.env!;
    expect(env).toContainEqual({ name: 'AWS_REGION', value: 'eu-west-1' });
    expect(env).toContainEqual({ name: 'REQUESTER', value: 'kubectl-create' });
    expect(j.metadata.ownerReferences).toBeUndefined(); // another namespace: no owner reference
  });
});

describe('config', () => {
  test('defaults, upstream flag names, env fallback', () => {
    expect(parseConfig([], {})).toEqual(DEFAULTS);
    const c = parseConfig(
      ['--worker-namespace=fx', '--worker-image', 'img@sha256:1', '--allowed-buckets', 'a, b*'],
      {
        KUBE_FORENSICS_JOB_TTL_SECONDS: '5',
        POD_NAMESPACE: 'ctl',
      },
    );
    expect(c).toMatchObject({
      workerNamespace: 'fx',
      workerImage: 'img@sha256:1',
      allowedBuckets: ['a', 'b*'],
      jobTtlSeconds: 5,
      leaseNamespace: 'ctl',
    });
  });
  test('bad input names the flag', () => {
    expect(() => parseConfig(['--job-backoff-limit=-1'])).toThrow('--job-backoff-limit');
    expect(() => parseConfig(['--cri-endpoint=/run/x.sock'])).toThrow('--cri-endpoint');
    expect(() => parseConfig(['--nope'])).toThrow('unknown flag --nope');
  });
});
