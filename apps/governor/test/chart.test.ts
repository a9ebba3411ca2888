/**
 * The chart: one CronJob per enabled reaper with RBAC of its own, and each reaper's built CLI
 * (dist/main.js, the CronJob's command) run as a child process under that reaper's ServiceAccount
 * (testkit chartIdentity), so a missing permission fails here.
 *
 * - node-reaper: a tainted Karpenter node is cordoned, drained (its pod evicted) and deleted; a ghost
 *   Node (instance unknown to EC2) is deleted;
 * - pod-reaper: a Failed pod past --reap-failed-after is force-deleted;
 * - pdb-reaper: an overlapping pair is reduced, with the backup ConfigMap written in its namespace.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { KubeClient } from '@keiko/operator-kit';
import {
  chartIdentity,
  createTestAwsAccount,
  createTestNamespace,
  renderChart,
  uniqueName,
  waitFor,
} from '@keiko/testkit';
import { type Node, type Pod, type PodDisruptionBudget, Resources } from '../src/kube.js';
import { backupName } from '../src/pdb/execute.js';
import { kc, kubeClient } from './support.js';

const here = dirname(fileURLToPath(import.meta.url));
const chartDir = join(here, '../../../deploy/charts/governor');
const mainJs = join(here, '../dist/main.js');
const run = promisify(execFile);

let client: KubeClient;
let releaseNs: string;

beforeAll(async () => {
  client = await kubeClient();
  releaseNs = await createTestNamespace(kc, 'gov-chart');
});
afterAll(() => client?.transport.close());

const only = (reaper: 'node' | 'pod' | 'pdb') => ({
  nodeReaper: { enabled: reaper === 'node' },
  podReaper: { enabled: reaper === 'pod' },
  pdbReaper: { enabled: reaper === 'pdb' },
});

async function governor(
  reaper: string,
  kubeconfig: string,
  args: string[],
  env: Record<string, string> = {},
) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [
        mainJs,
        'reap',
        reaper,
        `--kubeconfig=${kubeconfig}`,
        `--lock-namespace=${releaseNs}`,
        '--log-level=warn',
        ...args,
      ],
      {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      },
    );
    if (process.env.GOV_DEBUG) console.log(stderr);
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`governor reap ${reaper} exited ${e.code}: ${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

describe('rendering', () => {
  test('one CronJob, ServiceAccount and ClusterRole per enabled reaper', async () => {
    const defaults = await renderChart(chartDir, { releaseName: 'gov', namespace: 'governor' });
    const kinds = (kind: string) =>
      defaults
        .filter((m) => m.kind === kind)
        .map((m) => m.metadata.name)
        .sort();
    expect(kinds('CronJob')).toEqual(['gov-governor-node-reaper', 'gov-governor-pod-reaper']);
    expect(kinds('ServiceAccount')).toEqual(kinds('CronJob'));
    expect(kinds('ClusterRole')).toEqual(kinds('CronJob'));
    const all = await renderChart(chartDir, {
      releaseName: 'gov',
      namespace: 'governor',
      values: { pdbReaper: { enabled: true } },
    });
    expect(all.filter((m) => m.kind === 'CronJob')).toHaveLength(3);
    const cron = all.find(
      (m) => m.kind === 'CronJob' && m.metadata.name.endsWith('pdb-reaper'),
    ) as unknown as {
      spec: {
        concurrencyPolicy: string;
        jobTemplate: { spec: { template: { spec: { containers: { args: string[] }[] } } } };
      };
    };
    expect(cron.spec.concurrencyPolicy).toBe('Forbid');
    expect(cron.spec.jobTemplate.spec.template.spec.containers[0]!.args).toEqual([
      'reap',
      'pdb',
      '--config=/etc/governor/config.yaml',
    ]);
  });

  test("a Job deadline shorter than the node-reaper's throttle and drain is refused (upstream's example was)", async () => {
    await expect(
      renderChart(chartDir, {
        releaseName: 'gov',
        namespace: 'governor',
        values: { nodeReaper: { activeDeadlineSeconds: 1800, config: { reapOldThrottle: 3600 } } },
      }),
    ).rejects.toThrow(/activeDeadlineSeconds/);
  });
});

describe('the CronJob command under the chart RBAC', () => {
  test('node-reaper: tainted Karpenter node drained and deleted, ghost Node deleted', async () => {
    const account = await createTestAwsAccount({ clusterName: uniqueName('gov-chart') });
    const id = await chartIdentity(kc, chartDir, {
      releaseName: 'gov',
      namespace: releaseNs,
      values: only('node'),
    });
    const workNs = await createTestNamespace(kc, 'gov-chart-work');
    const pool = uniqueName('pool');
    const tainted = uniqueName('karpenter-node');
    const ghost = uniqueName('ghost-node');
    await client.create<Node>(Resources.nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: tainted,
        labels: { 'keiko.dev/pool': pool, 'karpenter.sh/registered': 'true', 'karpenter.sh/nodepool': pool },
        annotations: { 'kwok.x-k8s.io/node': 'fake' },
      },
      spec: { taints: [{ key: 'keiko.dev/broken', effect: 'NoSchedule' }] },
    });
    await client.create<Node>(Resources.nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: ghost,
        labels: { 'keiko.dev/pool': pool, 'topology.kubernetes.io/region': account.region },
      },
      spec: { providerID: `aws:///${account.region}a/i-0fedcba9876543210` },
    });
    await client.create<Pod>(Resources.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app', namespace: workNs },
      spec: {
        nodeName: tainted,
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'app', image: 'app' }],
      },
    } as Pod);
    await waitFor(
      async () => (await client.get<Pod>(Resources.pods, 'app', workNs)).status?.phase === 'Running',
      { description: 'the pod to run' },
    );

    await governor(
      'node',
      id.kubeconfigPath,
      [
        `--node-selector=keiko.dev/pool=${pool}`,
        '--reap-tainted=keiko.dev/broken',
        '--max-kill-percent=100',
        '--drain-timeout=60',
      ],
      account.env(),
    );
    expect(await client.getOrUndefined(Resources.nodes, tainted)).toBeUndefined();
    expect(await client.getOrUndefined(Resources.nodes, ghost)).toBeUndefined();
    expect(await client.getOrUndefined(Resources.pods, 'app', workNs)).toBeUndefined();
  });

  test('pod-reaper: a Failed pod past the threshold is force-deleted', async () => {
    const id = await chartIdentity(kc, chartDir, {
      releaseName: 'gov',
      namespace: releaseNs,
      values: only('pod'),
    });
    const ns = await createTestNamespace(kc, 'gov-chart-pods');
    await client.create<Pod>(Resources.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'job', namespace: ns },
      spec: { nodeName: 'ip-10-250-0-2.gone.internal', containers: [{ name: 'app', image: 'app' }] },
    } as Pod);
    const hoursAgo = (h: number) =>
      new Date(Date.now() - h * 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    await client.patch(
      Resources.pods,
      'job',
      ns,
      {
        status: {
          phase: 'Failed',
          containerStatuses: [
            {
              name: 'app',
              image: 'app',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: 1, startedAt: hoursAgo(3), finishedAt: hoursAgo(2) } },
            },
          ],
        },
      },
      'merge',
      'status',
    );
    const dry = await governor('pod', id.kubeconfigPath, [
      `--namespace=${ns}`,
      '--reap-failed',
      '--reap-failed-after=60',
      '--dry-run',
    ]);
    expect(JSON.parse(dry.stdout).actions).toEqual([
      expect.objectContaining({ target: `${ns}/job`, reason: 'Failed', action: 'force-delete' }),
    ]);
    expect(await client.getOrUndefined(Resources.pods, 'job', ns)).toBeDefined();
    const textfile = join(mkdtempSync(join(tmpdir(), 'gov-metrics-')), 'governor.prom');
    await governor('pod', id.kubeconfigPath, [
      `--namespace=${ns}`,
      '--reap-failed',
      '--reap-failed-after=60',
      `--metrics-textfile=${textfile}`,
    ]);
    expect(await client.getOrUndefined(Resources.pods, 'job', ns)).toBeUndefined();
    // Bounded labels: reaper, reason, outcome.
    expect(readFileSync(textfile, 'utf8')).toContain(
      'governor_reaper_actions_total{reaper="pod",reason="Failed",outcome="done"} 1',
    );
    // The event is on the pod.
    type Ev = { metadata: { name: string }; reason?: string; regarding?: { name?: string } };
    const events = (await client.list<Ev>(Resources.events, { namespace: ns })).items;
    expect(events.some((e) => e.reason === 'ReapedFailed' && e.regarding?.name === 'job')).toBe(true);
  });

  test('pdb-reaper: an overlapping pair reduced, backup written', async () => {
    const id = await chartIdentity(kc, chartDir, {
      releaseName: 'gov',
      namespace: releaseNs,
      values: only('pdb'),
    });
    const ns = await createTestNamespace(kc, 'gov-chart-pdb');
    await client.create(Resources.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: ns, labels: { app: 'web' } },
      spec: { containers: [{ name: 'a', image: 'a' }] },
    });
    const pdbBody = (name: string): PodDisruptionBudget => ({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name, namespace: ns },
      spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } },
    });
    await client.create(Resources.pdbs, pdbBody('first'));
    await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has a one-second resolution
    await client.create(Resources.pdbs, pdbBody('second'));
    await governor('pdb', id.kubeconfigPath, [`--namespace=${ns}`]);
    const left = (await client.list<PodDisruptionBudget>(Resources.pdbs, { namespace: ns })).items.map(
      (p) => p.metadata.name,
    );
    expect(left).toEqual(['first']);
    expect(
      await client.getOrUndefined(Resources.configMaps, backupName(ns, 'second'), releaseNs),
    ).toBeDefined();
  });
});
