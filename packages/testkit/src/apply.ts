/**
 * Applying arbitrary manifests (any kind) with server-side apply, resolving each kind's REST path by
 * discovery, and rendering Helm charts with the pinned helm binary. Bodies go over the wire as raw
 * JSON (see raw.ts for why).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { binaryPath } from './binaries.js';
import { renderKubeconfig } from './kubeconfig.js';
import { rawRequest } from './raw.js';

const run = promisify(execFile);

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

const discovery = new WeakMap<KubeConfig, Map<string, Promise<ApiResource[]>>>();

/** The REST resource (plural, scope) of `apiVersion`/`kind`, by discovery (cached per KubeConfig). */
export async function resourceFor(kc: KubeConfig, apiVersion: string, kind: string): Promise<ApiResource> {
  let cache = discovery.get(kc);
  if (!cache) {
    cache = new Map();
    discovery.set(kc, cache);
  }
  let list = cache.get(apiVersion);
  if (!list) {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    list = (rawRequest(kc, 'GET', path) as Promise<{ resources: ApiResource[] }>).then((r) => r.resources);
    cache.set(apiVersion, list);
    list.catch(() => cache.delete(apiVersion));
  }
  const found = (await list).find((r) => r.kind === kind && !r.name.includes('/'));
  if (!found) throw new Error(`no resource of kind ${kind} in ${apiVersion}`);
  return found;
}

export function objectUrl(
  apiVersion: string,
  resource: ApiResource,
  name: string,
  namespace?: string,
): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = resource.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? 'default')}` : '';
  return `${base}${ns}/${resource.name}/${encodeURIComponent(name)}`;
}

/** Parses a multi-document YAML text into manifests (empty documents and `List` wrappers handled). */
export function parseManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as (Manifest & { items?: Manifest[] }) | null;
    if (!obj) continue;
    if (obj.kind?.endsWith('List') && Array.isArray(obj.items)) out.push(...obj.items);
    else if (obj.kind) out.push(obj);
  }
  return out;
}

/** Server-side applies every manifest in order (`namespace` fills in a missing one for namespaced kinds). */
export async function applyManifests(
  kc: KubeConfig,
  manifests: Manifest[],
  options: { namespace?: string; fieldManager?: string } = {},
): Promise<Manifest[]> {
  const applied: Manifest[] = [];
  for (const m of manifests) {
    const resource = await resourceFor(kc, m.apiVersion, m.kind);
    const namespace = resource.namespaced
      ? (m.metadata.namespace ?? options.namespace ?? 'default')
      : undefined;
    const body = { ...m, metadata: { ...m.metadata, ...(namespace ? { namespace } : {}) } };
    const url = `${objectUrl(m.apiVersion, resource, m.metadata.name, namespace)}?fieldManager=${encodeURIComponent(
      options.fieldManager ?? 'keiko-testkit',
    )}&force=true`;
    applied.push(
      (await rawRequest(kc, 'PATCH', url, JSON.stringify(body), 'application/apply-patch+yaml')) as Manifest,
    );
  }
  return applied;
}

export interface RenderChartOptions {
  releaseName: string;
  namespace: string;
  /** Values, written to a values file and passed with `-f`. */
  values?: Record<string, unknown>;
  /** Also render the chart's `crds/` directory. */
  includeCrds?: boolean;
}

/** `helm template` with the pinned helm; returns the rendered manifests. */
export async function renderChart(chartDir: string, options: RenderChartOptions): Promise<Manifest[]> {
  const args = ['template', options.releaseName, chartDir, '--namespace', options.namespace];
  if (options.includeCrds) args.push('--include-crds');
  if (options.values) {
    const file = join(mkdtempSync(join(tmpdir(), 'keiko-values-')), 'values.yaml');
    writeFileSync(file, stringify(options.values));
    args.push('-f', file);
  }
  const { stdout } = await run(binaryPath('helm'), args, { maxBuffer: 64 * 1024 * 1024 });
  return parseManifests(stdout);
}

const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

export interface ChartIdentity {
  serviceAccount: string;
  namespace: string;
  /** A kubeconfig that authenticates as the chart's ServiceAccount (a bound token, 1 hour). */
  kubeconfigPath: string;
  /** The RBAC objects the chart rendered and that were applied. */
  rbac: Manifest[];
}

/**
 * Applies the ServiceAccount and RBAC objects of a chart (nothing else) and returns a kubeconfig that
 * acts as that ServiceAccount: run a controller with it and it has exactly the chart's permissions.
 * The chart must render exactly one ServiceAccount.
 */
export async function chartIdentity(
  kc: KubeConfig,
  chartDir: string,
  options: RenderChartOptions,
): Promise<ChartIdentity> {
  const rendered = await renderChart(chartDir, options);
  const rbac = rendered.filter((m) => RBAC_KINDS.has(m.kind));
  const accounts = rbac.filter((m) => m.kind === 'ServiceAccount');
  if (accounts.length !== 1)
    throw new Error(`chart ${chartDir} rendered ${accounts.length} ServiceAccounts, expected 1`);
  await applyManifests(kc, rbac, { namespace: options.namespace });
  const sa = accounts[0] as Manifest;
  const namespace = sa.metadata.namespace ?? options.namespace;
  const token = (await rawRequest(
    kc,
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${sa.metadata.name}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  )) as { status: { token: string } };
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const caPem = cluster.caData
    ? Buffer.from(cluster.caData, 'base64').toString('utf8')
    : cluster.caFile
      ? (await import('node:fs')).readFileSync(cluster.caFile, 'utf8')
      : '';
  const kubeconfigPath = join(mkdtempSync(join(tmpdir(), 'keiko-sa-')), 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    renderKubeconfig({
      server: cluster.server,
      caPem,
      user: `system:serviceaccount:${namespace}:${sa.metadata.name}`,
      token: token.status.token,
    }),
    { mode: 0o600 },
  );
  return { serviceAccount: sa.metadata.name, namespace, kubeconfigPath, rbac };
}
