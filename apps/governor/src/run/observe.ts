/** pod-reaper's and pdb-reaper's reads: paged lists of pods, namespaces, nodes and PDBs. */
import type { KubeClient, Resource } from '@keiko/operator-kit';
import { type Namespace, type Node, type Pod, type PodDisruptionBudget, Resources } from '../kube.js';
import type { PdbObservation } from '../pdb/planner.js';
import type { PodObservation } from '../pod/planner.js';
import type { RunContext } from './context.js';

/** Every page of a list, keeping only the items `keep` wants (30,000 pods never sit in memory at once). */
export async function listKept<T extends { metadata: { name: string } }>(
  client: KubeClient,
  resource: Resource,
  keep: (item: T) => boolean,
  namespace?: string,
): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await client.listPage<T & { metadata: { name: string; namespace?: string } }>(resource, {
      ...(token ? { continue: token } : {}),
      ...(namespace ? { namespace } : {}),
    });
    for (const item of page.items) if (keep(item)) out.push(item);
    token = page.metadata.continue;
  } while (token);
  return out;
}

/** Pods pod-reaper may act on: terminating, Succeeded or Failed. */
const podOfInterest = (p: Pod) =>
  Boolean(p.metadata.deletionTimestamp) || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export async function observePods(ctx: RunContext, namespace?: string): Promise<PodObservation> {
  const [pods, namespaces, nodes] = await Promise.all([
    listKept<Pod>(ctx.client, Resources.pods, podOfInterest, namespace).then((items) => ({ items })),
    namespace
      ? ctx.client.get<Namespace>(Resources.namespaces, namespace).then((n) => ({ items: [n] }))
      : ctx.client.list<Namespace>(Resources.namespaces),
    listKept<Node>(ctx.client, Resources.nodes, () => true).then((items) => ({ items })),
  ]);
  return {
    now: ctx.now(),
    pods: pods.items,
    namespaces: namespaces.items,
    nodeNames: new Set(nodes.items.map((n) => n.metadata.name)),
  };
}

export async function observePdbs(ctx: RunContext, namespace?: string): Promise<PdbObservation> {
  const pdbs = (await ctx.client.list<PodDisruptionBudget>(Resources.pdbs, namespace ? { namespace } : {}))
    .items;
  // Only the namespaces that have PDBs need their pods read.
  const namespaces = [...new Set(pdbs.map((p) => p.metadata.namespace ?? ''))];
  const lists = await Promise.all(
    namespaces.map((ns) => ctx.client.list<Pod>(Resources.pods, { namespace: ns })),
  );
  return { now: ctx.now(), pdbs, pods: lists.flatMap((l) => l.items) };
}
