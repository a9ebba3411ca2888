/**
 * Benchmark: COUNT HealthChecks (500) at repeatAfterSec INTERVAL (30 s) held for DURATION seconds
 * (600) after a warm-up of WARMUP seconds (2 intervals). The defaults are the target configuration.
 *
 * The built controller (dist/main.js) runs as a child process against its own local control plane
 * (kube-apiserver + etcd from testkit) with Argo's CRDs. The script plays Argo's part, cheaply: ONE
 * watch on Workflows (no lists); each new Workflow is patched Succeeded after RUN_SECONDS (1 s) and
 * deleted 60 s after it finished (like a TTL). The real workflow-controller cannot run ~17
 * workflows/s on a 2-core machine (it would measure Argo, not this controller); the integration
 * tests use the real one.
 *
 * Drift of a run = the Workflow's creation in the API server minus its due time (the slot in the
 * Workflow's `activemonitor.keikoproj.io/scheduled-at` annotation, computed by the controller from
 * the persisted schedule). Three measurements, all on this host's clock (controller, API server and
 * this script share it, so there is no skew):
 *   - `creationTimestamp`: the API server's own stamp, whole seconds, truncated: the definition
 *     itself at 1 s resolution (p99 <= 1 s means under 2 s for 99 % of runs);
 *   - `controller`: the controller's histogram `healthcheck_schedule_drift_seconds` (slot -> its
 *     create call returned; bucket upper bounds; an upper bound of the creation);
 *   - `watch`: when this script received the ADDED event (ms resolution; an upper bound that also
 *     includes the watch delivery to this script, which lags on a loaded machine).
 * Only runs whose slot lies in the measured window count. Also printed: runs created and finished
 * vs expected (COUNT x window / INTERVAL), slots skipped by the missed-run rule, the controller's
 * CPU seconds and RSS (sampled peak and the kernel's high-water mark), and the load average.
 * Usage: pnpm --filter @keiko/active-monitor bench
 *   (env COUNT, INTERVAL, DURATION, WARMUP, WORKERS, SCHEDULE_WORKERS, RUN_SECONDS)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { KubeClient, type KubeObject, Reflector } from '@keiko/operator-kit';
import { ControlPlane, freePort, installArgoCrds, installCrds, rawRequest } from '@keiko/testkit';

// As in src/workflow/build.ts (this script runs with node's type stripping, outside the build).
const SCHEDULED_AT_ANNOTATION = 'activemonitor.keikoproj.io/scheduled-at';
const workflowResource = {
  group: 'argoproj.io',
  version: 'v1alpha1',
  plural: 'workflows',
  kind: 'Workflow',
  namespaced: true,
} as const;
interface Workflow extends KubeObject {
  status?: { phase?: string };
}

const COUNT = Number(process.env.COUNT ?? 500);
const INTERVAL = Number(process.env.INTERVAL ?? 30);
const DURATION = Number(process.env.DURATION ?? 600);
const WARMUP = Number(process.env.WARMUP ?? INTERVAL * 2);
const WORKERS = Number(process.env.WORKERS ?? 10);
const SCHEDULE_WORKERS = Number(process.env.SCHEDULE_WORKERS ?? 50);
const RUN_SECONDS = Number(process.env.RUN_SECONDS ?? 1);
const TTL_SECONDS = 60;
const NS = 'bench';
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');

interface HcStatus {
  status?: { successCount?: number; failedCount?: number };
}

function procStats(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime + stime
  return { rssKiB: get('VmRSS'), hwmKiB: get('VmHWM'), cpuSeconds: ticks / 100 };
}

/** "p50 0.21 s, p95 ..." of the samples (seconds); exact order statistics. */
function quantiles(samples: number[], digits: number): string {
  if (samples.length === 0) return 'no samples';
  const sorted = [...samples].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  const f = (v: number) => `${v.toFixed(digits)} s`;
  return `p50 ${f(q(0.5))}, p95 ${f(q(0.95))}, p99 ${f(q(0.99))}, max ${f(sorted[sorted.length - 1]!)} (${sorted.length} runs)`;
}

/** Cumulative bucket counts of the controller's drift histogram. */
function driftBuckets(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^healthcheck_schedule_drift_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) {
    out.set(m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2]));
  }
  return out;
}

/** "p50 <= 0.1 s, ..." from the histogram's growth between two scrapes. */
function bucketQuantiles(before: Map<number, number>, after: Map<number, number>): string {
  const les = [...after.keys()].sort((a, b) => a - b);
  const grown = (le: number) => (after.get(le) ?? 0) - (before.get(le) ?? 0);
  const total = grown(Number.POSITIVE_INFINITY);
  if (total === 0) return 'no samples';
  const q = (p: number) => les.find((le) => grown(le) >= p * total);
  return `p50 <= ${q(0.5)} s, p95 <= ${q(0.95)} s, p99 <= ${q(0.99)} s, max <= ${q(1)} s (${total} runs)`;
}

const metricSum = (text: string, name: string) =>
  [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'gm'))].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );

const t0 = Date.now();
console.log(`load average at start: ${load()}`);
const cp = await ControlPlane.start();
const kc = cp.kubeConfig();
await installArgoCrds(kc);
await installCrds(
  kc,
  here('../../../deploy/charts/active-monitor/crds/activemonitor.keikoproj.io_healthchecks.yaml'),
);
await rawRequest(kc, 'POST', '/api/v1/namespaces', { metadata: { name: NS } });
console.log(
  `setup: control plane + CRDs in ${Date.now() - t0} ms; ${cpus().length} cores (${cpus()[0]?.model})`,
);

const port = await freePort();
const child = spawn(
  process.execPath,
  [
    here('../dist/main.js'),
    `--ops-port=${port}`,
    `--namespace=${NS}`,
    `--max-workers=${WORKERS}`,
    `--schedule-workers=${SCHEDULE_WORKERS}`,
    '--log-level=warn',
  ],
  { env: { ...process.env, KUBECONFIG: cp.kubeconfigPath }, stdio: ['ignore', 'inherit', 'inherit'] },
);
const pid = child.pid as number;
process.on('exit', () => child.kill('SIGKILL'));

// Argo's stand-in: one watch; finish each new Workflow after RUN_SECONDS, delete it TTL_SECONDS later.
const client = await KubeClient.fromKubeConfig(kc, 'bench-argo');
const argo = new Reflector<Workflow>(client, workflowResource, { namespace: NS });
/** Created Workflows: slot (ms), watch arrival (ms), creationTimestamp (ms). */
const created: { slot: number; seen: number; stamp: number }[] = [];
const timers = new Set<NodeJS.Timeout>();
let standInErrors = 0;
const later = (ms: number, fn: () => Promise<unknown>) => {
  const t = setTimeout(() => {
    timers.delete(t);
    fn().catch(() => {
      standInErrors++;
    });
  }, ms);
  timers.add(t);
};
argo.addHandler({
  add: (wf) => {
    if (wf.status?.phase) return;
    const slot = Date.parse(wf.metadata.annotations?.[SCHEDULED_AT_ANNOTATION] ?? '');
    created.push({ slot, seen: Date.now(), stamp: Date.parse(wf.metadata.creationTimestamp ?? '') });
    later(RUN_SECONDS * 1000, () => {
      const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      return client.patch(workflowResource, wf.metadata.name as string, NS, {
        status: { phase: 'Succeeded', startedAt: at, finishedAt: at },
      });
    });
  },
  update: (old, wf) => {
    if (!old.status?.phase && wf.status?.phase) {
      later(TTL_SECONDS * 1000, () => client.delete(workflowResource, wf.metadata.name as string, NS));
    }
  },
});
argo.start();
await argo.waitForSync();

const workflow = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: busybox:1.36, command: [nslookup, kubernetes.default]}
`;
const tCreate = Date.now();
for (let i = 0; i < COUNT; i += 25) {
  await Promise.all(
    Array.from({ length: Math.min(25, COUNT - i) }, (_, j) =>
      rawRequest(kc, 'POST', `/apis/activemonitor.keikoproj.io/v1alpha1/namespaces/${NS}/healthchecks`, {
        apiVersion: 'activemonitor.keikoproj.io/v1alpha1',
        kind: 'HealthCheck',
        metadata: { name: `hc-${i + j}` },
        spec: {
          level: 'namespace',
          repeatAfterSec: INTERVAL,
          workflow: {
            generateName: `hc-${i + j}-`,
            resource: { namespace: NS, serviceAccount: 'bench', source: { inline: workflow } },
          },
        },
      }),
    ),
  );
}
console.log(`created ${COUNT} HealthChecks at ${INTERVAL} s in ${Date.now() - tCreate} ms`);

const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
const countRuns = async () => {
  const list = (await rawRequest(
    kc,
    'GET',
    `/apis/activemonitor.keikoproj.io/v1alpha1/namespaces/${NS}/healthchecks`,
  )) as { items: HcStatus[] };
  return list.items.reduce((n, h) => n + (h.status?.successCount ?? 0) + (h.status?.failedCount ?? 0), 0);
};

await sleep(WARMUP * 1000); // first runs, caches
// The measured window: slots in [windowStart, windowEnd). Whole seconds, as slots are.
const windowStart = Math.ceil(Date.now() / 1000) * 1000;
await sleep(windowStart - Date.now());
const beforeText = await metrics();
const missedBefore = metricSum(beforeText, 'healthcheck_missed_schedules_total');
const driftBefore = driftBuckets(beforeText);
const statsBefore = procStats(pid);
const runsBefore = await countRuns();
let peakRss = statsBefore.rssKiB;
const rssTrace: number[] = [];
let maxWaiting = 0;
let maxQueue = 0;
while (Date.now() - windowStart < DURATION * 1000) {
  await sleep(Math.min(1_000, windowStart + DURATION * 1000 - Date.now()));
  const rss = procStats(pid).rssKiB;
  peakRss = Math.max(peakRss, rss);
  if (rssTrace.length < Math.floor((Date.now() - windowStart) / 60_000) + 1) rssTrace.push(rss);
  const text = await metrics().catch(() => '');
  maxWaiting = Math.max(maxWaiting, metricSum(text, 'healthcheck_schedule_timers\\{state="waiting"\\}'));
  maxQueue = Math.max(maxQueue, metricSum(text, 'workqueue_depth'));
}
const windowEnd = windowStart + DURATION * 1000;
const statsAfter = procStats(pid);
const windowText = await metrics();
const runsFinished = (await countRuns()) - runsBefore;
// Runs due just before the end get a moment to be created (their drift is measured, not cut off).
await sleep(5_000);
const afterText = await metrics();
const inWindow = created.filter((c) => c.slot >= windowStart && c.slot < windowEnd);
const expected = Math.round((COUNT * DURATION) / INTERVAL);
const cpuSeconds = statsAfter.cpuSeconds - statsBefore.cpuSeconds;

console.log(
  `held ${COUNT} HealthChecks at ${INTERVAL} s for ${DURATION} s (after ${WARMUP} s warm-up); ` +
    `Argo stand-in: watch, runs ${RUN_SECONDS} s, TTL ${TTL_SECONDS} s, ${standInErrors} errors`,
);
console.log(
  `runs: ${inWindow.length} created for slots in the window (expected ${expected}), ` +
    `${runsFinished} finished in the window; slots skipped (missed-run rule): ` +
    `${metricSum(afterText, 'healthcheck_missed_schedules_total') - missedBefore}`,
);
console.log(
  `drift (due -> created), creationTimestamp: ${quantiles(
    inWindow.map((c) => (c.stamp - c.slot) / 1000),
    0,
  )} (API server clock, whole seconds, truncated)`,
);
console.log(
  `drift (due -> created), controller:        ${bucketQuantiles(driftBefore, driftBuckets(windowText))} (create returned; histogram)`,
);
console.log(
  `drift (due -> created), watch arrival:     ${quantiles(
    inWindow.map((c) => (c.seen - c.slot) / 1000),
    3,
  )} (includes watch delivery to the stand-in)`,
);
console.log(
  `controller: CPU ${cpuSeconds.toFixed(1)} s over ${DURATION} s (${((cpuSeconds / DURATION) * 100).toFixed(1)}% of one core); ` +
    `RSS at window start ${(statsBefore.rssKiB / 1024).toFixed(0)} MiB, end ${(statsAfter.rssKiB / 1024).toFixed(0)} MiB, peak sampled ${(peakRss / 1024).toFixed(0)} MiB, ` +
    `high-water ${(statsAfter.hwmKiB / 1024).toFixed(0)} MiB`,
);
console.log(
  `controller: ${metricSum(afterText, 'controller_runtime_reconcile_time_seconds_count')} queue reconciles ` +
    `(${metricSum(afterText, 'controller_runtime_reconcile_time_seconds_sum').toFixed(0)} s), ` +
    `${metricSum(afterText, 'controller_runtime_reconcile_errors_total')} errors, ` +
    `queue depth now ${metricSum(afterText, 'workqueue_depth')} (max sampled ${maxQueue}); ` +
    `due HealthChecks waiting for a schedule worker: max sampled ${maxWaiting}`,
);
const worst = [...inWindow]
  .sort((a, b) => b.stamp - b.slot - (a.stamp - a.slot) || b.seen - b.slot - (a.seen - a.slot))
  .slice(0, 5);
console.log(
  `worst runs (slot: creationTimestamp drift / watch arrival drift, runs due in that second): ${worst
    .map((w) => {
      const same = inWindow.filter((c) => c.slot === w.slot).length;
      return `${new Date(w.slot).toISOString().slice(11, 19)}: ${(w.stamp - w.slot) / 1000} s / ${((w.seen - w.slot) / 1000).toFixed(2)} s, ${same}`;
    })
    .join('; ')}`,
);
console.log(
  `controller RSS each minute of the window: ${rssTrace.map((k) => (k / 1024).toFixed(0)).join(', ')} MiB`,
);
console.log(`load average at end: ${load()}`);

for (const t of timers) clearTimeout(t);
await argo.stop();
client.transport.close();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await cp.stop();
