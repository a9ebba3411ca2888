/** Pure pieces: Workflow construction, RBAC objects, run recording, URL sources, flags. */
import { createServer } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import type { HealthCheck, HealthCheckStatus } from '../src/api/healthcheck.js';
import { parseConfig } from '../src/config.js';
import { DEFAULT_CHECK_RULES, rbacPlan, serviceAccountFor } from '../src/rbac/objects.js';
import { HISTORY_LIMIT, recordFinish } from '../src/run/record.js';
import {
  buildWorkflow,
  HEALTHCHECK_UID_LABEL,
  INSTANCE_ID_LABEL,
  workflowName,
} from '../src/workflow/build.js';
import { SourceError, SourceFetcher } from '../src/workflow/source.js';

const hc: HealthCheck = {
  apiVersion: 'activemonitor.keikoproj.io/v1alpha1',
  kind: 'HealthCheck',
  metadata: { name: 'dns', namespace: 'health', uid: 'u-1' },
  spec: {
    level: 'namespace',
    repeatAfterSec: 60,
    workflow: {
      generateName: 'dns-',
      resource: { namespace: 'health', serviceAccount: 'sa', source: { inline: 'x' } },
    },
    remedyworkflow: { resource: { namespace: 'kube-system', serviceAccount: 'sa', source: { inline: 'x' } } },
  },
};

describe('buildWorkflow', () => {
  const source = `metadata:\n  labels: {team: infra}\n  annotations: {note: keep}\nspec:\n  entrypoint: main\n  templates: []\n`;
  it('keeps user metadata, adds instance id, labels, defaults and an owner only in the same namespace', () => {
    const wf = buildWorkflow({
      hc,
      block: hc.spec.workflow,
      type: 'check',
      name: 'dns-abc',
      serviceAccount: 'sa',
      timeoutSeconds: 60,
      source,
      instanceId: 'am',
      scheduledAt: '2026-03-01T00:00:30Z',
    });
    expect(wf.metadata.labels).toEqual({
      team: 'infra',
      [INSTANCE_ID_LABEL]: 'am',
      [HEALTHCHECK_UID_LABEL]: 'u-1',
      'activemonitor.keikoproj.io/run-type': 'check',
    });
    expect(wf.metadata.annotations).toMatchObject({
      note: 'keep',
      'activemonitor.keikoproj.io/healthcheck': 'health/dns',
      'activemonitor.keikoproj.io/scheduled-at': '2026-03-01T00:00:30Z',
    });
    expect(wf.spec).toMatchObject({
      serviceAccountName: 'sa',
      activeDeadlineSeconds: 60,
      podGC: { strategy: 'OnPodCompletion' },
    });
    expect(wf.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'HealthCheck',
      uid: 'u-1',
      controller: true,
    });
    const remedy = buildWorkflow({
      hc,
      block: hc.spec.remedyworkflow!,
      type: 'remedy',
      name: 'r',
      serviceAccount: 'sa-remedy',
      timeoutSeconds: 60,
      source,
      instanceId: 'am',
    });
    expect(remedy.metadata.namespace).toBe('kube-system');
    expect(remedy.metadata.ownerReferences).toBeUndefined();
  });

  it('does not leak labels between HealthChecks (upstream #312)', () => {
    const a = buildWorkflow({
      hc,
      block: hc.spec.workflow,
      type: 'check',
      name: 'a',
      serviceAccount: 'sa',
      timeoutSeconds: 1,
      source,
      instanceId: 'am',
    });
    const b = buildWorkflow({
      hc: { ...hc, metadata: { ...hc.metadata, uid: 'u-2' } },
      block: hc.spec.workflow,
      type: 'check',
      name: 'b',
      serviceAccount: 'sa',
      timeoutSeconds: 1,
      source: 'spec: {}',
      instanceId: 'am',
    });
    expect(a.metadata.labels?.team).toBe('infra');
    expect(b.metadata.labels?.team).toBeUndefined();
  });

  it.each(['not: [valid', 'just a string', 'metadata: {}'])('refuses source %j', (bad) => {
    expect(() =>
      buildWorkflow({
        hc,
        block: hc.spec.workflow,
        type: 'check',
        name: 'a',
        serviceAccount: 'sa',
        timeoutSeconds: 1,
        source: bad,
        instanceId: 'am',
      }),
    ).toThrow(/check workflow source/);
  });

  it('names are deterministic per slot and fit a label value', () => {
    const slot = new Date('2026-03-01T00:00:00Z');
    expect(workflowName(hc, hc.spec.workflow, 'check', slot)).toBe(
      workflowName(hc, hc.spec.workflow, 'check', slot),
    );
    const long = workflowName(hc, { ...hc.spec.workflow, generateName: 'x'.repeat(200) }, 'remedy', slot);
    expect(long.length).toBe(63);
  });
});

describe('rbacPlan', () => {
  it('namespace level: Role + RoleBinding named after the HealthCheck, default read-only rules', () => {
    const p = rbacPlan(hc, 'check');
    expect(p.role).toMatchObject({
      kind: 'Role',
      metadata: { name: 'activemonitor-dns', namespace: 'health' },
      rules: DEFAULT_CHECK_RULES,
    });
    expect(p.binding).toMatchObject({
      kind: 'RoleBinding',
      subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'health' }],
    });
  });
  it('cluster level: ClusterRole named with namespace and name; remedy sharing the SA gets -remedy', () => {
    const cluster = { ...hc, spec: { ...hc.spec, level: 'cluster' as const } };
    const p = rbacPlan(cluster, 'remedy');
    expect(p.role).toMatchObject({
      kind: 'ClusterRole',
      metadata: { name: 'activemonitor-health-dns-remedy' },
    });
    expect(serviceAccountFor(cluster, 'remedy')).toBe('sa-remedy');
  });
});

describe('recordFinish', () => {
  const run = {
    workflow: 'w',
    namespace: 'health',
    type: 'check' as const,
    startedAt: '2026-03-01T00:00:00Z',
  };
  it('counts once, keeps history bounded, resets remedy counters on success', () => {
    let s: HealthCheckStatus = {
      remedyTotalRuns: 2,
      remedySuccessCount: 2,
      consecutiveFailures: 3,
      currentRun: run,
    };
    for (let i = 0; i < HISTORY_LIMIT + 3; i++)
      s = recordFinish({ ...s, currentRun: run }, run, 'Succeeded', undefined, new Date(), 1);
    expect(s).toMatchObject({
      successCount: HISTORY_LIMIT + 3,
      totalHealthCheckRuns: HISTORY_LIMIT + 3,
      consecutiveFailures: 0,
      remedyTotalRuns: 0,
    });
    expect(s.currentRun).toBeUndefined();
    expect(s.history).toHaveLength(HISTORY_LIMIT);
  });
  it('a remedy never overwrites the check fields', () => {
    const s = recordFinish(
      { lastFailedWorkflow: 'check-1' },
      { ...run, workflow: 'fix-1', type: 'remedy' },
      'Failed',
      'boom',
      new Date(),
      1,
    );
    expect(s).toMatchObject({
      lastFailedWorkflow: 'check-1',
      remedyFailedCount: 1,
      remedyErrorMessage: 'boom',
      remedyTotalRuns: 1,
    });
  });
});

describe('SourceFetcher', () => {
  it('fetches with a timeout and caches for the TTL', async () => {
    let hits = 0;
    const server = createServer((req, res) => {
      hits++;
      if (req.url === '/slow') return; // never answers
      res.end('spec: {}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const fetcher = new SourceFetcher({ timeoutMs: 200, ttlMs: 60_000 });
    const block = (path: string) => ({
      resource: { namespace: 'x', source: { url: { path: `http://127.0.0.1:${port}${path}` } } },
    });
    expect(await fetcher.load(block('/wf.yaml'))).toBe('spec: {}');
    expect(await fetcher.load(block('/wf.yaml'))).toBe('spec: {}');
    expect(hits).toBe(1);
    await expect(fetcher.load(block('/slow'))).rejects.toThrow(/timed out after 200 ms/);
    await expect(
      fetcher.load({ resource: { namespace: 'x', source: { file: { path: '/x' } } } }),
    ).rejects.toBeInstanceOf(SourceError);
    server.closeAllConnections();
    server.close();
  });
});

describe('parseConfig', () => {
  it('defaults, upstream flag names, and errors naming the flag', () => {
    expect(parseConfig([], {})).toMatchObject({
      opsPort: 8080,
      maxWorkers: 10,
      scheduleWorkers: 50,
      instanceId: 'activemonitor-workflows',
      leaderElect: false,
    });
    expect(
      parseConfig(['--metrics-bind-address=:8443', '--max-workers', '3', '--leader-elect'], {}),
    ).toMatchObject({ opsPort: 8443, maxWorkers: 3, leaderElect: true });
    expect(() => parseConfig(['--max-workers=zero'], {})).toThrow(/--max-workers/);
    expect(parseConfig(['--schedule-workers=5'], {}).scheduleWorkers).toBe(5);
    expect(() => parseConfig(['--schedule-workers=0'], {})).toThrow(/--schedule-workers/);
    expect(() => parseConfig(['--nope'], {})).toThrow(/unknown flag --nope/);
  });
});
