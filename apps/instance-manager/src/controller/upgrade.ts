/**
 * Node replacement, the side-effect half of the two upgrade strategies:
 * - `rollingUpdate`: the plan from planner/rollout.ts, executed as cordon, drain (Eviction API,
 *   PDB-aware, @keiko/node-kit), then TerminateInstanceInAutoScalingGroup without decrement so the
 *   group launches the replacement. A drain that does not finish within the per-reconcile bound
 *   leaves the Node cordoned: the next reconcile (or the next process) sees a cordoned outdated
 *   instance and carries on, so no worker ever blocks for long and nothing is lost on restart.
 * - `crd`: the rendered custom resource (usually a RollingUpgrade) is created through the API, its
 *   status path polled, resubmitted on failure up to maxRetries.
 */

import { cordon, drainNode } from '@keiko/node-kit';
import { isNotFound, type KubeClient, type KubeObject, type Resource } from '@keiko/operator-kit';
import type { CrdStrategySpec, InstanceGroup } from '../api/instancegroup.js';
import {
  concurrencyDecision,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  outcomeOf,
  strategyResource,
  UPGRADE_SCOPE_LABEL,
} from '../planner/crd-strategy.js';
import type { RolloutPlan } from '../planner/rollout.js';
import type { Cloud } from './cloud.js';
import type { StatusBuilder } from './status.js';

export interface RollingResult {
  terminated: string[];
  draining: string[];
  /** Why drains have not finished yet (`pod: reason`), for the Progressing message. */
  blocked: string[];
}

export async function executeRollingUpdate(
  client: KubeClient,
  cloud: Cloud,
  plan: RolloutPlan,
  options: { drainTimeoutMs: number; signal?: AbortSignal },
): Promise<RollingResult> {
  const terminated: string[] = [];
  const draining: string[] = [];
  const blocked: string[] = [];
  await Promise.all(
    plan.replace.map(async (r) => {
      if (r.nodeName) {
        await cordon(client, r.nodeName);
        const drain = await drainNode(client, r.nodeName, {
          timeoutMs: options.drainTimeoutMs,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        if (!drain.completed) {
          draining.push(r.id);
          blocked.push(...[...drain.blocked, ...drain.refused].map((b) => `${b.pod}: ${b.reason}`));
          return;
        }
      }
      await cloud.asgs.terminateInstance(r.id, false);
      terminated.push(r.id);
    }),
  );
  return { terminated: terminated.sort(), draining: draining.sort(), blocked: blocked.sort() };
}

export type CrdStep =
  | { phase: 'running'; name: string }
  | { phase: 'waiting'; reason: string }
  | { phase: 'succeeded'; name: string }
  | { phase: 'failed'; name: string; message: string };

/** The Resource of the strategy's kind, from the rendered apiVersion and `crdName` (the plural). */
function resourceOf(apiVersion: string, kind: string, plural: string): Resource {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return { group: group!, version: version!, plural, kind, namespaced: true };
}

export async function stepCrdStrategy(
  client: KubeClient,
  group: InstanceGroup,
  s: CrdStrategySpec,
  scope: string,
  launchTemplate: { id: string; version: string },
  status: StatusBuilder,
): Promise<CrdStep> {
  const desired = strategyResource(
    s.spec,
    group as unknown as Record<string, unknown>,
    scope,
    launchTemplate.id,
    launchTemplate.version,
  );
  const r = resourceOf(desired.apiVersion, desired.kind, s.crdName);
  const namespace = desired.metadata.namespace!;
  const name = desired.metadata.name;
  if (status.status.strategyResourceName !== name) status.set({ strategyRetryCount: 0 });
  status.set({ strategyResourceName: name, strategyResourceNamespace: namespace });
  const existing = await client.getOrUndefined<KubeObject>(r, name, namespace);
  if (existing && !existing.metadata.deletionTimestamp) {
    const outcome = outcomeOf(existing, s);
    if (outcome === 'running') return { phase: 'running', name };
    if (outcome === 'succeeded') return { phase: 'succeeded', name };
    const retries = status.status.strategyRetryCount ?? 0;
    const max = s.maxRetries ?? 3;
    if (max !== -1 && retries >= max)
      return {
        phase: 'failed',
        name,
        message: `${desired.kind} ${namespace}/${name} failed ${retries + 1} times`,
      };
    await client.delete(r, name, namespace, { propagationPolicy: 'Foreground' });
    status.set({ strategyRetryCount: retries + 1 });
    return { phase: 'waiting', reason: `resubmitting ${desired.kind} ${name} (retry ${retries + 1})` };
  }
  if (existing) return { phase: 'waiting', reason: `previous ${desired.kind} ${name} is being deleted` };
  const others = (
    await client.list<KubeObject>(r, {
      namespace,
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY},${UPGRADE_SCOPE_LABEL}=${scope}`,
    })
  ).items.filter((o) => o.metadata.name !== name && outcomeOf(o, s) === 'running');
  const decision = concurrencyDecision(
    s.concurrencyPolicy,
    others.map((o) => o.metadata.name!),
  );
  if (decision.action === 'wait') return { phase: 'waiting', reason: decision.reason };
  if (decision.action === 'delete') {
    for (const n of decision.names) await client.delete(r, n, namespace);
  }
  try {
    await client.create(r, desired as unknown as KubeObject);
  } catch (err) {
    if (isNotFound(err))
      return {
        phase: 'failed',
        name,
        message: `custom resource ${s.crdName} (${desired.apiVersion}) is not installed`,
      };
    throw err;
  }
  return { phase: 'running', name };
}
