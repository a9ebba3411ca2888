/**
 * operator-kit against controller-runtime, on the same local API server in one run.
 *
 * For each size N (BENCH_SIZES, default "1000,10000") and each implementation, in its own namespace:
 * create N BenchItems, start the controller process, and measure
 * - time until all N are reconciled (status.observedValue == spec.value), from process start;
 * - reconciles per second over that period;
 * - event-to-reconcile latency of single updates (p50/p99 over BENCH_LATENCY_SAMPLES, default 200)
 *   while a background writer updates other items at BENCH_LOAD_QPS (default 50);
 * - the controller process's peak RSS (VmHWM).
 * Then print the ratios operator-kit / controller-runtime. Run: `pnpm --filter @keiko/operator-kit bench`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlPlane, installCrds } from '@keiko/testkit';
import { KubeClient, type KubeObject, Reflector, type Resource } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkgRoot = join(here, '..', '..');
const sizes = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
const samples = Number(process.env.BENCH_LATENCY_SAMPLES ?? 200);
const loadQps = Number(process.env.BENCH_LOAD_QPS ?? 50);
const workers = Number(process.env.WORKERS ?? 4);
const impls = (process.env.BENCH_IMPLS ?? 'controller-runtime,operator-kit').split(',') as (
  | 'controller-runtime'
  | 'operator-kit'
)[];

const Items: Resource = {
  group: 'bench.keiko.dev',
  version: 'v1',
  plural: 'benchitems',
  kind: 'BenchItem',
  namespaced: true,
};
interface Item extends KubeObject {
  spec: { value: number };
  status?: { observedValue?: number };
}

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: benchitems.bench.keiko.dev }
spec:
  group: bench.keiko.dev
  scope: Namespaced
  names: { plural: benchitems, singular: benchitem, kind: BenchItem }
  versions:
    - name: v1
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: { type: object, properties: { value: { type: integer } } }
            status: { type: object, properties: { observedValue: { type: integer } } }
`;

interface Result {
  impl: string;
  n: number;
  allReconciledMs: number;
  reconcilesPerSec: number;
  p50: number;
  p99: number;
  peakRssMb: number;
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

async function pool<T>(items: T[], concurrency: number, fn: (t: T) => Promise<void>) {
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (i < items.length) await fn(items[i++] as T);
    }),
  );
}

async function runOne(
  cp: ControlPlane,
  client: KubeClient,
  impl: 'controller-runtime' | 'operator-kit',
  goBinary: string,
  n: number,
) {
  const namespace = `bench-${impl === 'operator-kit' ? 'ts' : 'go'}-${n}`;
  await client.create(
    { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
    },
  );
  const names = Array.from({ length: n }, (_, i) => `item-${i}`);
  await pool(names, 16, async (name) => {
    await client.create(Items, {
      apiVersion: 'bench.keiko.dev/v1',
      kind: 'BenchItem',
      metadata: { name, namespace },
      spec: { value: 1 },
    });
  });

  // The bench's own view: which items are reconciled, and when each awaited value shows up.
  const done = new Set<string>();
  const waiters = new Map<string, { value: number; resolve: () => void }>();
  const watcher = new Reflector<Item>(client, Items, { namespace });
  const observe = (o: Item) => {
    const name = o.metadata.name as string;
    if (o.status?.observedValue === o.spec.value) done.add(name);
    else done.delete(name);
    const w = waiters.get(name);
    if (w && o.status?.observedValue === w.value) {
      waiters.delete(name);
      w.resolve();
    }
  };
  watcher.addHandler({ add: observe, update: (_o, nw) => observe(nw) });
  watcher.start();
  await watcher.waitForSync();

  const env = {
    ...process.env,
    KUBECONFIG: cp.kubeconfigPath,
    NAMESPACE: namespace,
    WORKERS: String(workers),
    NODE_OPTIONS: process.env.BENCH_TS_NODE_OPTIONS ?? '',
  };
  const t0 = performance.now();
  const proc: ChildProcess =
    impl === 'operator-kit'
      ? spawn(
          process.execPath,
          [
            ...(process.env.BENCH_TS_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
            join(pkgRoot, 'dist', 'bench', 'ts-controller.js'),
          ],
          {
            env,
            stdio: 'inherit',
          },
        )
      : spawn(goBinary, [], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  while (done.size < n) await new Promise((r) => setTimeout(r, 20));
  const allReconciledMs = performance.now() - t0;

  // Single-update latency under a background load on other items.
  let loading = true;
  let v = 1_000;
  const load = (async () => {
    while (loading) {
      const name = names[Math.floor(Math.random() * (n - 1)) + 1] as string;
      await client.patch(Items, name, namespace, { spec: { value: v++ } });
      await new Promise((r) => setTimeout(r, 1000 / loadQps));
    }
  })();
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const value = 1_000_000 + i;
    const seen = new Promise<void>((resolve) => waiters.set('item-0', { value, resolve }));
    const t = performance.now();
    await client.patch(Items, 'item-0', namespace, { spec: { value } });
    await seen;
    latencies.push(performance.now() - t);
  }
  loading = false;
  await load;
  const rss = peakRssMb(proc.pid as number);
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  await watcher.stop();
  return {
    impl,
    n,
    allReconciledMs,
    reconcilesPerSec: n / (allReconciledMs / 1000),
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    peakRssMb: rss,
  } satisfies Result;
}

const goBinary = execFileSync('bash', [join(pkgRoot, 'bench', 'build-go-controller.sh')], {
  encoding: 'utf8',
}).trim();
const cp = await ControlPlane.start({ controllerManager: false, scheduler: false, kwok: false });
try {
  await installCrds(cp.kubeConfig(), CRD);
  const client = await KubeClient.fromKubeConfig(cp.kubeConfig(), 'bench-driver');
  const results: Result[] = [];
  for (const n of sizes) {
    for (const impl of impls) {
      const r = await runOne(cp, client, impl, goBinary, n);
      results.push(r);
      console.log(JSON.stringify(r));
    }
  }
  client.transport.close();
  console.log(
    `\nmachine: ${cpus().length} x ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}; workers ${workers}`,
  );
  console.log(
    '| N | implementation | all reconciled (s) | reconciles/s | latency p50 (ms) | p99 (ms) | peak RSS (MB) |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.n} | ${r.impl} | ${(r.allReconciledMs / 1000).toFixed(2)} | ${r.reconcilesPerSec.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.peakRssMb.toFixed(0)} |`,
    );
  }
  console.log(
    '\nratios operator-kit / controller-runtime (throughput: higher is better; latency, memory: lower is better)',
  );
  for (const n of impls.length === 2 ? sizes : []) {
    const go = results.find((r) => r.n === n && r.impl === 'controller-runtime') as Result;
    const ts = results.find((r) => r.n === n && r.impl === 'operator-kit') as Result;
    console.log(
      `N=${n}: throughput ${(ts.reconcilesPerSec / go.reconcilesPerSec).toFixed(2)}x, p99 latency ${(ts.p99 / go.p99).toFixed(2)}x, peak RSS ${(ts.peakRssMb / go.peakRssMb).toFixed(2)}x`,
    );
  }
} finally {
  await cp.stop();
}
