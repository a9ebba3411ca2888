/**
 * Benchmark: 200 Addons in 20 dependency chains of 10 (each addon depends on the previous one of its
 * chain, alternating `*` and a semver range), each with prereqs and install workflows (400 workflows
 * run by the real Argo controller on kwok). The built controller (dist/main.js) runs as a child
 * process; the script prints the time until every Addon is Succeeded and the controller's peak RSS.
 * It starts its own control plane and Argo. Usage: pnpm --filter @keiko/addon-manager bench
 * Env: CHAINS (20), LENGTH (10), WORKERS (controller --workers, 4).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ArgoWorkflows, ControlPlane, freePort, installCrds, rawRequest } from '@keiko/testkit';

const CHAINS = Number(process.env.CHAINS ?? 20);
const LENGTH = Number(process.env.LENGTH ?? 10);
const WORKERS = Number(process.env.WORKERS ?? 4);
const NS = 'bench';
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const template = (step: string) => `apiVersion: argoproj.io/v1alpha1
kind: Workflow
spec:
  entrypoint: main
  templates:
  - name: main
    resource:
      action: apply
      manifest: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: ${step}, namespace: "{{workflow.parameters.namespace}}"}
`;

function rssKiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: get('VmRSS'), hwm: get('VmHWM') };
}

const t0 = Date.now();
const cp = await ControlPlane.start();
const argo = await ArgoWorkflows.start({
  kubeconfigPath: cp.kubeconfigPath,
  instanceID: 'addon-manager-workflow-controller',
});
const kc = cp.kubeConfig();
await installCrds(kc, here('../../../deploy/charts/addon-manager/crds/addonmgr.keikoproj.io_addons.yaml'));
await rawRequest(kc, 'POST', '/api/v1/namespaces', { metadata: { name: NS } });
console.log(`setup: control plane + Argo ${argo.version} in ${Date.now() - t0} ms`);

const port = await freePort();
const child = spawn(
  process.execPath,
  [
    here('../dist/main.js'),
    `--ops-port=${port}`,
    `--namespaces=${NS}`,
    `--workers=${WORKERS}`,
    '--log-level=warn',
  ],
  {
    env: { ...process.env, KUBECONFIG: cp.kubeconfigPath },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
let peakRss = 0;
const sampler = setInterval(() => {
  try {
    peakRss = Math.max(peakRss, rssKiB(child.pid!).rss);
  } catch {
    // exited
  }
}, 200);
while (
  !(await fetch(`http://127.0.0.1:${port}/readyz`).then(
    (r) => r.ok,
    () => false,
  ))
)
  await new Promise((r) => setTimeout(r, 100));
const idleRss = rssKiB(child.pid!).rss;

const start = Date.now();
const total = CHAINS * LENGTH;
// Created dependents first, so most addons start out waiting on a dependency that does not exist yet.
for (let depth = LENGTH - 1; depth >= 0; depth--) {
  for (let chain = 0; chain < CHAINS; chain++) {
    const name = `c${chain}-d${depth}`;
    const deps = depth === 0 ? undefined : { [`c${chain}-d${depth - 1}`]: depth % 2 ? '*' : '>=v1.0.0, <v2' };
    await rawRequest(kc, 'POST', `/apis/addonmgr.keikoproj.io/v1alpha1/namespaces/${NS}/addons`, {
      apiVersion: 'addonmgr.keikoproj.io/v1alpha1',
      kind: 'Addon',
      metadata: { name },
      spec: {
        pkgName: name,
        pkgVersion: 'v1.0.0',
        pkgType: 'composite',
        pkgDescription: 'bench',
        ...(deps ? { pkgDeps: deps } : {}),
        params: { namespace: NS },
        lifecycle: {
          prereqs: { template: template(`${name}-pre`) },
          install: { template: template(`${name}-inst`) },
        },
      },
    });
  }
}
const created = Date.now() - start;
let succeeded = 0;
let lastPrint = 0;
for (;;) {
  const list = (await rawRequest(
    kc,
    'GET',
    `/apis/addonmgr.keikoproj.io/v1alpha1/namespaces/${NS}/addons`,
  )) as {
    items: { status?: { lifecycle?: { installed?: string } } }[];
  };
  succeeded = list.items.filter((a) => a.status?.lifecycle?.installed === 'Succeeded').length;
  const failed = list.items.filter((a) => a.status?.lifecycle?.installed === 'Failed').length;
  if (failed > 0) throw new Error(`${failed} addons Failed`);
  if (Date.now() - lastPrint > 10_000) {
    console.log(
      `  ${Math.round((Date.now() - start) / 1000)} s: ${succeeded}/${total} Succeeded, controller RSS ${Math.round(rssKiB(child.pid!).rss / 1024)} MiB`,
    );
    lastPrint = Date.now();
  }
  if (succeeded === total) break;
  if (Date.now() - start > 15 * 60_000) throw new Error(`timed out with ${succeeded}/${total} Succeeded`);
  await new Promise((r) => setTimeout(r, 500));
}
const elapsed = Date.now() - start;
const { hwm } = rssKiB(child.pid!);
const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
const reconciles = [
  ...metrics.matchAll(/controller_runtime_reconcile_total\{controller="addon",result="[^"]+"\} (\d+)/g),
].reduce((n, m) => n + Number(m[1]), 0);
const workflows = [...metrics.matchAll(/addonmgr_workflows_created_total\{step="[^"]+"\} (\d+)/g)].reduce(
  (n, m) => n + Number(m[1]),
  0,
);
clearInterval(sampler);
const os = await import('node:os');
console.log(
  `addons: ${total} (${CHAINS} chains of ${LENGTH}), workflows created: ${workflows}, reconciles: ${reconciles}`,
);
console.log(`created all addons in ${created} ms; all Succeeded after ${(elapsed / 1000).toFixed(1)} s`);
console.log(
  `controller RSS: idle ${Math.round(idleRss / 1024)} MiB, peak sampled ${Math.round(peakRss / 1024)} MiB, VmHWM ${Math.round(hwm / 1024)} MiB`,
);
console.log(
  `machine: ${os.cpus().length} cores, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
// The children are unref'd: keep the event loop alive while they stop.
const keepAlive = setInterval(() => {}, 1000);
child.kill('SIGTERM');
await argo.stop();
await cp.stop();
clearInterval(keepAlive);
