/** The CRDs the sandbox installs from the apps' charts, and what the view needs of each kind. */
import { readFileSync } from 'node:fs';
import type { KubeClient, Resource } from '@keiko/operator-kit';
import { type Manifest, parseManifests } from '@keiko/testkit';

export interface CrdInfo {
  resource: Resource;
  apiVersion: string;
  columns: { name: string; jsonPath: string }[];
}

/** The CRDs of the apps' charts: the manifests to apply, and each kind with its printer columns. */
export function crdsOf(files: string[]): { manifests: Manifest[]; kinds: CrdInfo[] } {
  const manifests = files.flatMap((f) => parseManifests(readFileSync(f, 'utf8')));
  const kinds = manifests
    .filter((m) => m.kind === 'CustomResourceDefinition')
    .map((m) => {
      const spec = m.spec as {
        group: string;
        scope: string;
        names: { plural: string; kind: string };
        versions: {
          name: string;
          storage?: boolean;
          additionalPrinterColumns?: { name: string; jsonPath: string }[];
        }[];
      };
      const version = spec.versions.find((v) => v.storage) ?? spec.versions[0];
      return {
        resource: {
          group: spec.group,
          version: version?.name ?? 'v1',
          plural: spec.names.plural,
          kind: spec.names.kind,
          namespaced: spec.scope === 'Namespaced',
        },
        apiVersion: `${spec.group}/${version?.name ?? 'v1'}`,
        columns: (version?.additionalPrinterColumns ?? []).filter((c) => c.name.toLowerCase() !== 'age'),
      };
    });
  return { manifests, kinds };
}

/** Waits (up to 10 s per kind) until each kind can be listed, i.e. its CRD is established. */
export async function waitEstablished(client: KubeClient, kinds: CrdInfo[]): Promise<void> {
  for (const k of kinds) {
    for (let i = 0; i < 100; i++) {
      const ok = await client.listPage(k.resource, { limit: 1 }).then(
        () => true,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
