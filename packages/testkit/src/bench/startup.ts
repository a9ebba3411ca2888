/**
 * Startup benchmark for the local control plane. Prints per-component readiness times for the
 * envtest-like tier (etcd + kube-apiserver) as the baseline and for the full control plane used by
 * the jest global setup, and the ratio between them. Run: pnpm --filter @keiko/testkit bench:startup
 * (after a build). RUNS=<n> changes the number of runs (default 3).
 */
import { cpus } from 'node:os';
import { ControlPlane, type ControlPlaneOptions } from '../control-plane.js';

const runs = Number(process.env.RUNS ?? 3);

async function measure(label: string, options: ControlPlaneOptions) {
  const totals: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cp = await ControlPlane.start(options);
    const t0 = Date.now();
    await cp.stop();
    const stopMs = Date.now() - t0;
    totals.push(cp.timings.total!);
    console.log(`${label} run ${i + 1}: ${JSON.stringify(cp.timings)} stop=${stopMs}ms`);
  }
  const sorted = [...totals].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(
    `${label}: median ${median} ms, min ${sorted[0]} ms, max ${sorted.at(-1)} ms over ${runs} runs`,
  );
  return median;
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
console.log(`machine: ${machine}`);
const baseline = await measure('apiserver-only (etcd + kube-apiserver)', {
  controllerManager: false,
  scheduler: false,
  kwok: false,
});
const full = await measure('full (etcd, kube-apiserver, kcm, scheduler, kwok)', {});
console.log(`ratio full / apiserver-only: ${(full / baseline).toFixed(2)}`);
