/**
 * Installing CustomResourceDefinitions from YAML and waiting until the API server serves them.
 */
import { readFileSync } from 'node:fs';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { rawRequest } from './raw.js';
import { waitFor } from './wait.js';

/** Every CustomResourceDefinition in a multi-document YAML text (other kinds are ignored). */
export function parseCrds(yamlText: string): V1CustomResourceDefinition[] {
  return parseAllDocuments(yamlText)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid CRD YAML: ${doc.errors[0]!.message}`);
      return doc.toJS() as V1CustomResourceDefinition | null;
    })
    .filter((obj): obj is V1CustomResourceDefinition => obj?.kind === 'CustomResourceDefinition');
}

export interface InstallCrdsOptions {
  /** Milliseconds to wait for `Established` (default 30 s). */
  timeoutMs?: number;
  /** Field manager for server-side apply (default `keiko-testkit`). */
  fieldManager?: string;
}

/**
 * Server-side applies the CRDs found in `sources` (file paths or YAML texts) and resolves once each
 * is `Established` and its names are accepted, so custom objects can be created right away.
 * Rejects with the API server's message if a CRD is invalid or its names conflict.
 */
export async function installCrds(
  kc: KubeConfig,
  sources: string | string[],
  options: InstallCrdsOptions = {},
): Promise<V1CustomResourceDefinition[]> {
  const texts = (Array.isArray(sources) ? sources : [sources]).map((s) =>
    s.includes('\n') ? s : readFileSync(s, 'utf8'),
  );
  const crds = texts.flatMap(parseCrds);
  if (crds.length === 0) throw new Error('installCrds: no CustomResourceDefinition found in the input');
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const fieldManager = encodeURIComponent(options.fieldManager ?? 'keiko-testkit');
  for (const crd of crds) {
    // Raw JSON, not client-node's typed serializer (which drops `enum`, `x-kubernetes-*`, ...).
    await rawRequest(
      kc,
      'PATCH',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata!.name}?fieldManager=${fieldManager}&force=true`,
      crd,
      'application/apply-patch+yaml',
    );
  }
  return Promise.all(
    crds.map((crd) =>
      waitFor(
        async () => {
          const live = await api.readCustomResourceDefinition({ name: crd.metadata!.name! });
          const conditions = live.status?.conditions ?? [];
          const namesRejected = conditions.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
          if (namesRejected) {
            throw new Error(`CRD ${crd.metadata!.name}: names not accepted: ${namesRejected.message}`);
          }
          return conditions.some((c) => c.type === 'Established' && c.status === 'True') ? live : undefined;
        },
        {
          description: `CRD ${crd.metadata!.name} to be Established`,
          timeoutMs: options.timeoutMs ?? 30_000,
        },
      ),
    ),
  );
}
