/**
 * The sandbox end to end, as `./dev run` starts it: `node dist/main.js --no-view` as a child process
 * (its own control plane, emulator, Argo and every app's built dist/main.js; turbo builds them first
 * because they are devDependencies of this package). The test waits until the sandbox reports
 * convergence in its state file, then checks every example's final state itself through the
 * Kubernetes API (not through the sandbox's output or its own checker), stops the sandbox with
 * SIGINT (Ctrl-C), and checks that no process it started is left and its ports are free.
 *
 * Invariants checked on every poll during the run, not only at the end: no controller exits; the
 * rolling upgrade never has more than its maxUnavailable (1) legacy node cordoned; the
 * InstanceGroups' nodes are never cordoned.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from '@jest/globals';
import { assertPortFree, loadKubeConfig, rawRequest, waitFor } from '@keiko/testkit';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = join(here, '..', 'dist', 'main.js');
const CONVERGE_TIMEOUT_MS = 480_000;

interface State {
  pid: number;
  kubeconfig: string;
  awsEndpoint?: string;
  pricingEndpoint?: string;
  logs: string;
  processes: { name: string; pid: number; opsPort: number; exit?: number | null }[];
  examples: { name: string; ok: boolean; why: string }[];
  convergedSeconds?: number;
}

interface Obj {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & { conditions?: { type: string; status: string; reason?: string }[] };
  data?: Record<string, string>;
}

/** pid -> parent pid and start time (field 22 of /proc/<pid>/stat, to tell a reused pid apart). */
function processTable(): Map<number, { ppid: number; start: string }> {
  const table = new Map<number, { ppid: number; start: string }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), { ppid: Number(fields[1]), start: fields[19] ?? '' });
    } catch {
      // gone between readdir and read
    }
  }
  return table;
}

/** Adds every live descendant of `root` to `seen` (pid -> start time). */
function collectDescendants(root: number, seen: Map<number, string>): void {
  const table = processTable();
  let frontier = [root];
  while (frontier.length) {
    const next: number[] = [];
    for (const [pid, p] of table) {
      if (frontier.includes(p.ppid) && !seen.has(pid)) {
        seen.set(pid, p.start);
        next.push(pid);
      }
    }
    frontier = next;
  }
}

function stillRunning(seen: Map<number, string>): number[] {
  const table = processTable();
  return [...seen].filter(([pid, start]) => table.get(pid)?.start === start).map(([pid]) => pid);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const readState = (file: string): State | undefined =>
  existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as State) : undefined;

let child: ChildProcess | undefined;
let output = '';

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGINT');
    await sleep(30_000);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('every example converges to its expected state, and Ctrl-C stops everything', async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run pnpm --filter @keiko/sandbox build first`);
  const stateFile = join(mkdtempSync(join(tmpdir(), 'sandbox-e2e-')), 'state.json');
  child = spawn(process.execPath, [MAIN, '--no-view', `--state-file=${stateFile}`], {
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
  const descendants = new Map<number, string>();
  const ports = new Set<number>();

  // Until the sandbox says it converged: collect its processes, check the invariants.
  const deadline = Date.now() + CONVERGE_TIMEOUT_MS;
  let state: State | undefined;
  let maxLegacyCordoned = 0;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the sandbox exited ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline)
      throw new Error(
        `no convergence in ${CONVERGE_TIMEOUT_MS / 1000} s; last state: ${JSON.stringify(state?.examples)}`,
      );
    collectDescendants(child.pid!, descendants);
    state = readState(stateFile);
    if (state) {
      for (const p of state.processes) {
        ports.add(p.opsPort);
        if (p.exit !== undefined && p.exit !== null && p.name !== 'governor')
          throw new Error(`${p.name} exited ${p.exit}; log in ${state.logs}`);
      }
      const kc = loadKubeConfig(state.kubeconfig);
      const nodes = ((await rawRequest(kc, 'GET', '/api/v1/nodes')) as { items: Obj[] }).items;
      const cordoned = nodes.filter((n) => n.spec?.unschedulable === true);
      maxLegacyCordoned = Math.max(
        maxLegacyCordoned,
        cordoned.filter((n) => n.metadata.labels?.workload === 'legacy').length,
      );
      expect(maxLegacyCordoned).toBeLessThanOrEqual(1);
      expect(cordoned.filter((n) => n.metadata.labels?.['node.kubernetes.io/role'])).toEqual([]);
      if (state.convergedSeconds !== undefined) break;
    }
    await sleep(2_000);
  }
  expect(state.examples.length).toBeGreaterThanOrEqual(10);
  expect(state.examples.filter((e) => !e.ok)).toEqual([]);
  expect(output).toMatch(/all examples converged in \d+ s/);

  // Each example's final state, read through the Kubernetes API.
  const kc = loadKubeConfig(state.kubeconfig);
  const get = (path: string) => rawRequest(kc, 'GET', path) as Promise<Obj>;
  const list = async (path: string) => ((await rawRequest(kc, 'GET', path)) as { items: Obj[] }).items;
  const condition = (o: Obj, type: string) => o.status?.conditions?.find((c) => c.type === type);
  const nodes = await list('/api/v1/nodes');
  const ready = (n: Obj) => condition(n, 'Ready')?.status === 'True';

  // instance-manager: each InstanceGroup Ready with its two Ready nodes (labelled by its user data).
  for (const [ns, name] of [
    ['team-payments', 'payments-workers'],
    ['team-search', 'search-workers'],
  ] as const) {
    const ig = await get(`/apis/instancemgr.keikoproj.io/v1alpha1/namespaces/${ns}/instancegroups/${name}`);
    expect(ig.status?.currentState).toBe('Ready');
    const own = nodes.filter((n) => n.metadata.labels?.['node.kubernetes.io/role'] === name);
    expect(own.map(ready)).toEqual([true, true]);
  }

  // addon-manager: both Addons installed.
  for (const name of ['core-metrics', 'node-problem-detector']) {
    const addon = await get(
      `/apis/addonmgr.keikoproj.io/v1alpha1/namespaces/addon-manager-system/addons/${name}`,
    );
    expect((addon.status?.lifecycle as { installed?: string } | undefined)?.installed).toBe('Succeeded');
  }

  // upgrade-manager: the roll completed; the group's nodes now all run launch template version 2.
  const roll = await get(
    '/apis/upgrademgr.keikoproj.io/v1alpha1/namespaces/upgrades/rollingupgrades/roll-legacy-workers',
  );
  expect(roll.status?.currentStatus).toBe('completed');
  // (The node simulator deletes a terminated instance's Node on its next poll: allow it a moment.)
  const legacy = await waitFor(
    async () => {
      const now = (await list('/api/v1/nodes')).filter((n) => n.metadata.labels?.workload === 'legacy');
      return now.length === 2 && now;
    },
    { description: 'two legacy nodes', timeoutMs: 20_000, intervalMs: 500 },
  );
  expect(legacy.map((n) => n.metadata.labels?.['example.keiko.dev/config'])).toEqual(['v2', 'v2']);
  expect(legacy.every((n) => ready(n) && n.spec?.unschedulable !== true)).toBe(true);

  // active-monitor: the passing check passed; the failing one ran its remedy once, successfully.
  const dns = await get('/apis/activemonitor.keikoproj.io/v1alpha1/namespaces/health/healthchecks/dns-probe');
  expect(dns.status?.status).toBe('Succeeded');
  expect(Number(dns.status?.successCount)).toBeGreaterThanOrEqual(1);
  const latency = await get(
    '/apis/activemonitor.keikoproj.io/v1alpha1/namespaces/health/healthchecks/api-latency',
  );
  expect(latency.status?.status).toBe('Failed');
  expect(latency.status?.remedySuccessCount).toBe(1);

  // kube-forensics: the target pod runs on a payments node; the request waits for container IDs.
  const pod = await get('/api/v1/namespaces/forensics-demo/pods/suspicious-app');
  const podNode = nodes.find((n) => n.metadata.name === pod.spec?.nodeName);
  expect(podNode?.metadata.labels?.team).toBe('payments');
  const checkpoint = await get(
    '/apis/forensics.keikoproj.io/v1alpha1/namespaces/forensics-demo/podcheckpoints/incident-0001',
  );
  expect(checkpoint.status?.phase).toBe('Pending');
  expect(condition(checkpoint, 'Ready')?.reason).toBe('ContainersNotStarted');

  // minion-manager: its decision for the opted-in group, in its status ConfigMap: spot, because moto's
  // spot price is far below the Pricing stand-in's $0.096 on-demand price.
  const status = await get('/api/v1/namespaces/keiko-system/configmaps/minion-manager-status');
  expect(JSON.parse(status.data?.['keiko-sandbox-spot-workers'] ?? '{}')).toMatchObject({
    market: 'spot',
    reason: 'SpotCheap',
  });

  // governor: its dry run finished cleanly.
  expect(state.processes.find((p) => p.name === 'governor')?.exit).toBe(0);

  // Ctrl-C: everything stops, nothing is left, the ports are free again.
  collectDescendants(child.pid!, descendants);
  expect(descendants.size).toBeGreaterThan(10);
  for (const p of state.processes.filter((p) => p.exit === undefined))
    expect([p.name, descendants.has(p.pid)]).toEqual([p.name, true]);
  ports.add(Number(new URL(kc.getCurrentCluster()?.server ?? '').port));
  if (state.awsEndpoint) ports.add(Number(new URL(state.awsEndpoint).port));
  if (state.pricingEndpoint) ports.add(Number(new URL(state.pricingEndpoint).port));
  child.kill('SIGINT');
  expect(await exited).toBe(0);
  let left = stillRunning(descendants);
  for (let i = 0; i < 20 && left.length > 0; i++) {
    await sleep(500);
    left = stillRunning(descendants);
  }
  expect(left).toEqual([]);
  for (const port of ports) await assertPortFree(port, 'a sandbox port');
  expect(existsSync(state.kubeconfig)).toBe(false);
  expect(output).toContain('stopped; nothing left running');
}, 600_000);
