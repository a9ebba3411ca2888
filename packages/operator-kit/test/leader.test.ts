/**
 * Leader election across real processes: each runs the example controller
 * (examples/configmap-mirror-main.ts, built to dist) with a short lease so the test is quick.
 * Sampled all along: never two leaders at once, and a standby never reconciles.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { freePort, waitFor } from '@keiko/testkit';
import { TARGET_ANNOTATION } from '../examples/configmap-mirror.js';
import type { KubeClient } from '../src/client/client.js';
import { ConfigMaps, configMap, testClient, testNamespace } from './helpers.js';

const MAIN = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'dist',
  'examples',
  'configmap-mirror-main.js',
);
const LEASE_MS = 4_000;
const RETRY_MS = 500;

interface Replica {
  identity: string;
  port: number;
  proc: ChildProcess;
  exited: Promise<number | null>;
  log: string;
}

interface Sample {
  leader: boolean;
  reconciles: number;
}

async function sample(r: Replica): Promise<Sample | undefined> {
  try {
    const text = await (
      await fetch(`http://127.0.0.1:${r.port}/metrics`, { signal: AbortSignal.timeout(1_000) })
    ).text();
    const leader = /^leader_election_master_status\{[^}]*\} 1$/m.test(text);
    let reconciles = 0;
    for (const m of text.matchAll(/^controller_runtime_reconcile_total\{[^}]*\} (\d+)$/gm))
      reconciles += Number(m[1]);
    return { leader, reconciles };
  } catch {
    return undefined; // not up yet, or gone
  }
}

let client: KubeClient;
let namespace: string;
let cleanup: () => Promise<void>;
const replicas: Replica[] = [];

async function startReplica(identity: string): Promise<Replica> {
  const port = await freePort();
  const proc = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      IDENTITY: identity,
      OPS_PORT: String(port),
      LEASE_NAMESPACE: namespace,
      LEASE_DURATION_MS: String(LEASE_MS),
      RENEW_DEADLINE_MS: String(LEASE_MS - 1_000),
      RETRY_PERIOD_MS: String(RETRY_MS),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const r: Replica = {
    identity,
    port,
    proc,
    log: '',
    exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))),
  };
  proc.stdout?.on('data', (d: Buffer) => {
    r.log += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    r.log += d.toString();
  });
  replicas.push(r);
  await waitFor(() => sample(r), { timeoutMs: 20_000, description: `${identity} serving /metrics` });
  return r;
}

beforeAll(async () => {
  client = await testClient();
  ({ namespace, cleanup } = await testNamespace('opkit-leader'));
});
afterAll(async () => {
  for (const r of replicas) r.proc.kill('SIGKILL');
  await cleanup();
  client.transport.close();
});

describe('leader election', () => {
  test('one leader at a time; a killed leader is replaced within the lease; a stopped one hands over at once', async () => {
    const violations: string[] = [];
    const standbyReconciles = new Map<string, number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const live = replicas.filter((r) => r.proc.exitCode === null && r.proc.signalCode === null);
        const samples = await Promise.all(live.map(async (r) => [r, await sample(r)] as const));
        const leaders = samples.filter(([, s]) => s?.leader).map(([r]) => r.identity);
        if (leaders.length > 1) violations.push(`two leaders at once: ${leaders.join(', ')}`);
        for (const [r, s] of samples) {
          if (s && !s.leader && s.reconciles > 0 && !standbyReconciles.has(r.identity)) {
            // A replica that was leader before and lost it exits; a standby must never have reconciled.
            standbyReconciles.set(r.identity, s.reconciles);
          }
        }
        await new Promise((res) => setTimeout(res, 100));
      }
    })();

    const a = await startReplica('replica-a');
    await waitFor(async () => (await sample(a))?.leader, { timeoutMs: 20_000, description: 'a leads' });
    const b = await startReplica('replica-b');
    await client.create(ConfigMaps, {
      ...configMap(namespace, 'source', { v: '1' }),
      metadata: {
        name: 'source',
        namespace,
        labels: { 'mirror.example.keiko.dev/enabled': 'true' },
        annotations: { [TARGET_ANNOTATION]: namespace },
      },
    });
    const copyName = `${namespace}.source`;
    const copyHas = (v: string) => async () =>
      (
        await client.getOrUndefined<{ data?: Record<string, string> } & import('../src/index.js').KubeObject>(
          ConfigMaps,
          copyName,
          namespace,
        )
      )?.data?.v === v;
    await waitFor(copyHas('1'), { timeoutMs: 20_000, description: 'the leader mirrored the ConfigMap' });
    expect((await sample(b))?.leader).toBe(false);

    // The leader dies without a word: b takes over once the lease has run out.
    const killedAt = Date.now();
    a.proc.kill('SIGKILL');
    await waitFor(async () => (await sample(b))?.leader, {
      timeoutMs: 30_000,
      intervalMs: 50,
      description: 'b leads',
    });
    const takeover = Date.now() - killedAt;
    await client.patch(ConfigMaps, 'source', namespace, { data: { v: '2' } });
    await waitFor(copyHas('2'), { timeoutMs: 20_000, description: 'the new leader reconciles' });

    // A graceful stop releases the lease: c takes over well before a lease duration.
    const c = await startReplica('replica-c');
    await new Promise((res) => setTimeout(res, 2 * RETRY_MS));
    expect((await sample(c))?.leader).toBe(false);
    const stoppedAt = Date.now();
    b.proc.kill('SIGTERM');
    await waitFor(async () => (await sample(c))?.leader, {
      timeoutMs: 30_000,
      intervalMs: 50,
      description: 'c leads',
    });
    const handover = Date.now() - stoppedAt;
    expect(await b.exited).toBe(0);
    await client.patch(ConfigMaps, 'source', namespace, { data: { v: '3' } });
    await waitFor(copyHas('3'), { timeoutMs: 20_000, description: 'c reconciles' });

    sampling = false;
    await sampler;
    console.log(
      `leader election: takeover after SIGKILL ${takeover} ms (lease ${LEASE_MS} ms), after SIGTERM ${handover} ms`,
    );
    expect(violations).toEqual([]);
    expect([...standbyReconciles]).toEqual([]);
    // Not before the dead leader's lease expired, and not much after it.
    expect(takeover).toBeGreaterThanOrEqual(LEASE_MS - 1_000);
    expect(takeover).toBeLessThan(LEASE_MS + 4 * RETRY_MS + 2_000);
    expect(handover).toBeLessThan(LEASE_MS);
  });
});
