/**
 * Benchmark: COUNT HealthChecks (500) at repeatAfterSec INTERVAL (30 s) held for DURATION seconds
 * (600). The built controller (dist/main.js) runs as a child process against its own local control
 * plane with Argo's CRDs; the script plays Argo's part (marks each new Workflow Succeeded after about
 * 1 s and deletes finished ones after 60 s, like a TTL), because the real workflow-controller cannot
 * run ~17 workflows/s on a 2-core machine and would measure Argo, not this controller.
 * Prints: schedule drift (slot -> Workflow submitted) p50/p99 from the controller's own histogram
 * after a warm-up interval, runs counted vs expected, the controller's CPU time and RSS.
 * Usage: pnpm --filter @keiko/active-monitor bench   (env COUNT, INTERVAL, DURATION, WORKERS)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ControlPlane, freePort, installArgoCrds, installCrds, rawRequest } from '@keiko/testkit';

const COUNT = Number(process.env.COUNT ?? 500);
const INTERVAL = Number(process.env.INTERVAL ?? 30);
const DURATION = Number(process.env.DURATION ?? 600);
const WORKERS = Number(process.env.WORKERS ?? 10);
const NS = 'bench';
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Obj {
  metadata: { name: string; namespace?: string; creationTimestamp?: string; labels?: Record<string, string> };
  status?: { phase?: string; successCount?: number; failedCount?: number };
}

function procStats(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime + stime
  return { rssKiB: get('VmRSS'), hwmKiB: get('VmHWM'), cpuSeconds: ticks / 100 };
}

/** Cumulative bucket counts of the drift histogram from a /metrics text. */
function driftBuckets(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^healthcheck_schedule_drift_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) {
    out.set(m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2]));
  }
  return out;
}

function quantile(before: Map<number, number>, after: Map<number, number>, q: number): string {
  const les = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0);
  for (const le of les) {
    const n = (after.get(le) ?? 0) - (before.get(le) ?? 0);
    if (n >= q * total) return `<= ${le} s`;
  }
  return 'n/a';
}

const t0 = Date.now();
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
    '--log-level=warn',
  ],
  { env: { ...process.env, KUBECONFIG: cp.kubeconfigPath }, stdio: ['ignore', 'inherit', 'inherit'] },
);
const pid = child.pid as number;
process.on('exit', () => child.kill('SIGKILL'));

const workflow = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: busybox:1.36, command: [nslookup, kubernetes.default]}
`;
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
console.log(`created ${COUNT} HealthChecks at ${INTERVAL} s`);

// Argo's stand-in: finish new Workflows after ~1 s, delete finished ones after 60 s.
let stop = false;
const seen = new Map<string, number>();
const finisher = (async () => {
  while (!stop) {
    await sleep(250);
    const list = (await rawRequest(kc, 'GET', `/apis/argoproj.io/v1alpha1/namespaces/${NS}/workflows`).catch(
      () => ({
        items: [],
      }),
    )) as { items: Obj[] };
    const now = Date.now();
    const work: Promise<unknown>[] = [];
    for (const wf of list.items) {
      const path = `/apis/argoproj.io/v1alpha1/namespaces/${NS}/workflows/${wf.metadata.name}`;
      const first = seen.get(wf.metadata.name) ?? now;
      seen.set(wf.metadata.name, first);
      if (!wf.status?.phase && now - first >= 1_000) {
        const at = new Date().toISOString();
        work.push(
          rawRequest(
            kc,
            'PATCH',
            path,
            JSON.stringify({ status: { phase: 'Succeeded', startedAt: at, finishedAt: at } }),
            'application/merge-patch+json',
          ),
        );
      } else if (wf.status?.phase && now - first > 60_000) {
        work.push(rawRequest(kc, 'DELETE', path).then(() => seen.delete(wf.metadata.name)));
      }
    }
    await Promise.allSettled(work);
  }
})();

const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
await sleep(INTERVAL * 2 * 1000); // warm-up: first runs, caches
const before = driftBuckets(await metrics());
const statsBefore = procStats(pid);
const countRuns = async () => {
  const list = (await rawRequest(
    kc,
    'GET',
    `/apis/activemonitor.keikoproj.io/v1alpha1/namespaces/${NS}/healthchecks`,
  )) as { items: Obj[] };
  return list.items.reduce((n, h) => n + (h.status?.successCount ?? 0) + (h.status?.failedCount ?? 0), 0);
};
const runsBefore = await countRuns();
let peakRss = 0;
const tStart = Date.now();
while (Date.now() - tStart < DURATION * 1000) {
  await sleep(5_000);
  peakRss = Math.max(peakRss, procStats(pid).rssKiB);
}
const afterText = await metrics();
const after = driftBuckets(afterText);
const sample = (name: string) =>
  new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(afterText)?.[1] ?? 'n/a';
console.log(
  `controller: reconciles ${sample('controller_runtime_reconcile_time_seconds_count')}, reconcile time sum ${sample('controller_runtime_reconcile_time_seconds_sum')} s, queue depth ${sample('workqueue_depth')}, errors ${sample('controller_runtime_reconcile_errors_total')}`,
);
const statsAfter = procStats(pid);
const runs = (await countRuns()) - runsBefore;
const seconds = (Date.now() - tStart) / 1000;
const observed = (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0);
console.log(
  `held ${COUNT} HealthChecks at ${INTERVAL} s for ${seconds.toFixed(0)} s (after ${INTERVAL * 2} s warm-up)`,
);
console.log(
  `runs finished: ${runs} (expected about ${Math.round((COUNT * seconds) / INTERVAL)}); submissions observed: ${observed}`,
);
console.log(
  `schedule drift: p50 ${quantile(before, after, 0.5)}, p99 ${quantile(before, after, 0.99)}, max bucket ${quantile(before, after, 1)}`,
);
console.log(
  `controller CPU: ${(statsAfter.cpuSeconds - statsBefore.cpuSeconds).toFixed(1)} s over ${seconds.toFixed(0)} s (${(
    ((statsAfter.cpuSeconds - statsBefore.cpuSeconds) / seconds) * 100
  ).toFixed(
    1,
  )}% of one core); RSS now ${(statsAfter.rssKiB / 1024).toFixed(0)} MiB, peak sampled ${(peakRss / 1024).toFixed(0)} MiB, high-water ${(statsAfter.hwmKiB / 1024).toFixed(0)} MiB`,
);
stop = true;
await finisher;
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await cp.stop();
