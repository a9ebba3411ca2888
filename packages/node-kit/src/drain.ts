/**
 * Cordon and drain, as `kubectl drain` does it but as a library with explicit outcomes: cordon, then
 * evict every pod the rules allow through the Eviction API (so PodDisruptionBudgets are honoured),
 * retry evictions a PDB refuses (429) after a back-off, and wait until the evicted pods are gone.
 *
 * Timeout semantics are explicit: `timeoutMs` undefined waits forever (upstream upgrade-manager's
 * meaning of an absent drain timeout); otherwise the drain returns `completed: false` with the pods
 * still blocking and why. It never deletes a pod directly: forcing past a PDB is the caller's decision.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiError,
  CoreResources,
  errorMessage,
  isNotFound,
  type KubeClient,
  type KubeObject,
  objectPath,
} from '@keiko/operator-kit';
import { type Pod, type PodDecision, type PodSelectionOptions, podKey, podsToEvict } from './pods.js';

export interface NodeObject extends KubeObject {
  spec?: { unschedulable?: boolean; providerID?: string; [k: string]: unknown };
}

/** Marks the node unschedulable. Idempotent. */
export async function cordon(client: KubeClient, nodeName: string): Promise<void> {
  await client.patch(CoreResources.nodes, nodeName, undefined, { spec: { unschedulable: true } });
}

/** Makes the node schedulable again. Idempotent; a node that is gone is fine. */
export async function uncordon(client: KubeClient, nodeName: string): Promise<void> {
  try {
    await client.patch(CoreResources.nodes, nodeName, undefined, { spec: { unschedulable: null } });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export interface DrainOptions extends PodSelectionOptions {
  /** Give up after this long; undefined waits forever. */
  timeoutMs?: number;
  /** Pod grace period for evictions; default: each pod's own. */
  gracePeriodSeconds?: number;
  /** Back-off before retrying an eviction a PDB refused; default 5 s (kubectl uses 5 s). */
  evictionRetryMs?: number;
  /** How often to check whether evicted pods are gone; default 1 s. */
  pollMs?: number;
  /** Cordon before evicting; default true. */
  cordon?: boolean;
  signal?: AbortSignal;
  /** Progress callback: an eviction was accepted or refused. */
  onEviction?: (pod: string, outcome: 'evicted' | 'blocked' | 'gone', detail?: string) => void;
}

export interface DrainResult {
  /** Every evictable pod is gone from the node. */
  completed: boolean;
  evicted: string[];
  skipped: PodDecision[];
  /** Pods the options do not allow to evict (the drain cannot complete while they are there). */
  refused: PodDecision[];
  /** When not completed: pods still on the node and why (PDB, still terminating, ...). */
  blocked: PodDecision[];
  durationMs: number;
}

async function podsOnNode(client: KubeClient, nodeName: string): Promise<Pod[]> {
  const list = await client.list<Pod>(CoreResources.pods, { fieldSelector: `spec.nodeName=${nodeName}` });
  return list.items;
}

/** Asks for an eviction; `blocked` carries the API server's reason when a PDB (or anything) refused it. */
export async function evictPod(
  client: KubeClient,
  pod: Pod,
  gracePeriodSeconds?: number,
): Promise<{ outcome: 'evicted' | 'gone' | 'blocked'; detail?: string }> {
  const { name, namespace } = pod.metadata;
  try {
    await client.transport.request(
      'POST',
      objectPath(CoreResources.pods, name as string, namespace, 'eviction'),
      {
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name, namespace },
          deleteOptions: {
            ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
            preconditions: { uid: pod.metadata.uid },
          },
        },
      },
    );
    return { outcome: 'evicted' };
  } catch (err) {
    if (isNotFound(err)) return { outcome: 'gone' };
    // 429: a PDB does not allow it now; 500 "more than one PodDisruptionBudget": never will; 409: uid changed.
    if (err instanceof ApiError && (err.code === 429 || err.code === 500 || err.code === 409)) {
      return { outcome: 'blocked', detail: err.status?.message ?? err.message };
    }
    throw err;
  }
}

export async function drainNode(
  client: KubeClient,
  nodeName: string,
  options: DrainOptions = {},
): Promise<DrainResult> {
  const t0 = Date.now();
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : t0 + options.timeoutMs;
  const retryMs = options.evictionRetryMs ?? 5_000;
  const pollMs = options.pollMs ?? 1_000;
  if (options.cordon ?? true) await cordon(client, nodeName);
  const evicted = new Set<string>();
  /** pod key -> earliest time to try its eviction again */
  const retryAt = new Map<string, number>();
  const lastBlock = new Map<string, string>();
  for (;;) {
    const pods = await podsOnNode(client, nodeName);
    const sel = podsToEvict(pods, options);
    const remaining = [...sel.evict, ...sel.terminating];
    if (remaining.length === 0 || sel.refuse.length > 0) {
      return {
        completed: remaining.length === 0 && sel.refuse.length === 0,
        evicted: [...evicted],
        skipped: sel.skip,
        refused: sel.refuse,
        blocked: [],
        durationMs: Date.now() - t0,
      };
    }
    const now = Date.now();
    for (const pod of sel.evict) {
      const key = podKey(pod);
      if ((retryAt.get(key) ?? 0) > now) continue;
      let result: Awaited<ReturnType<typeof evictPod>>;
      try {
        result = await evictPod(client, pod, options.gracePeriodSeconds);
      } catch (err) {
        result = { outcome: 'blocked', detail: errorMessage(err) };
      }
      options.onEviction?.(key, result.outcome, result.detail);
      if (result.outcome === 'blocked') {
        lastBlock.set(key, result.detail ?? 'eviction refused');
        retryAt.set(key, now + retryMs);
      } else {
        evicted.add(key);
        lastBlock.delete(key);
        // Evicted pods stay in the list while they terminate; don't evict them again meanwhile.
        retryAt.set(key, Number.POSITIVE_INFINITY);
      }
    }
    if (Date.now() >= deadline || options.signal?.aborted) {
      const latest = podsToEvict(await podsOnNode(client, nodeName), options);
      const blocked = [...latest.evict, ...latest.terminating].map((p) => ({
        pod: podKey(p),
        reason: lastBlock.get(podKey(p)) ?? (p.metadata.deletionTimestamp ? 'Terminating' : 'NotEvictedYet'),
      }));
      return {
        completed: blocked.length === 0 && latest.refuse.length === 0,
        evicted: [...evicted],
        skipped: latest.skip,
        refused: latest.refuse,
        blocked,
        durationMs: Date.now() - t0,
      };
    }
    try {
      await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), undefined, {
        signal: options.signal,
      });
    } catch {
      // aborted: the next pass reports
    }
  }
}
