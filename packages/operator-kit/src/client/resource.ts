/** Where a kind lives in the REST API: group, version, plural and scope give every URL. */
export interface Resource {
  /** API group; `''` for the core group. */
  group: string;
  version: string;
  /** Lower-case plural, as in the URL (`configmaps`, `rollingupgrades`). */
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** `apiVersion` as written in objects: `v1` or `group/version`. */
export function apiVersionOf(r: Resource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** Collection path, across all namespaces when `namespace` is undefined (or the kind is cluster-scoped). */
export function collectionPath(r: Resource, namespace?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  if (r.namespaced && namespace !== undefined) {
    return `${base}/namespaces/${encodeURIComponent(namespace)}/${r.plural}`;
  }
  return `${base}/${r.plural}`;
}

export function objectPath(r: Resource, name: string, namespace?: string, subresource?: string): string {
  if (r.namespaced && namespace === undefined) {
    throw new Error(`${r.kind} is namespaced: a namespace is required to address ${name}`);
  }
  const path = `${collectionPath(r, namespace)}/${encodeURIComponent(name)}`;
  return subresource ? `${path}/${subresource}` : path;
}

/** Built-in kinds the runtime itself uses. */
export const CoreResources = {
  configMaps: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  secrets: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  pods: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  nodes: { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
  namespaces: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  events: { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
} as const satisfies Record<string, Resource>;
