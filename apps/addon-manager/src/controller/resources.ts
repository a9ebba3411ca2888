/**
 * The Kubernetes resources the Addon controller watches besides Addons, and how each maps back to
 * Addons (used by the controller's triggers and by the reconciler's observation).
 */
import type { Reflector, Resource } from '@keiko/operator-kit';
import type { Addon } from '../api/addon.js';
import { type ResourceEntry, selectorMatches, type Workload, workloadHealth } from '../lifecycle/health.js';
import { LABEL_NAME, labelValue } from '../lifecycle/naming.js';

export const WORKLOAD_KINDS = [
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true },
  { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true },
] as const satisfies readonly Resource[];

export const SecretsResource = {
  group: '',
  version: 'v1',
  plural: 'secrets',
  kind: 'Secret',
  namespaced: true,
} as const;

/** The selector of the workloads an addon owns: spec.selector, or its app.kubernetes.io/name label. */
export function resourceSelector(addon: Addon) {
  const s = addon.spec.selector;
  if (s && (Object.keys(s.matchLabels ?? {}).length > 0 || (s.matchExpressions ?? []).length > 0)) return s;
  return { matchLabels: { [LABEL_NAME]: labelValue(addon.metadata.name!) } };
}

/** status.resources of `addon`: its workloads in params.namespace, with readiness, sorted. */
export function observeResources(addon: Addon, informers: Reflector<Workload>[]): ResourceEntry[] {
  const selector = resourceSelector(addon);
  const out: ResourceEntry[] = [];
  for (const informer of informers) {
    const { kind, group } = informer.resource;
    for (const w of informer.store.list(addon.spec.params.namespace)) {
      if (!selectorMatches(selector, w.metadata.labels)) continue;
      out.push({ name: w.metadata.name!, kind, group, status: workloadHealth(kind, w) });
    }
  }
  return out.sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
}
