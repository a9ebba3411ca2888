/** Per-test namespaces: each test file works in a namespace of its own on the shared control plane. */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

/** A DNS-1123 name `<prefix>-<random>` (prefix trimmed so the result stays under 63 characters). */
export function uniqueName(prefix: string): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  return `${clean || 'test'}-${randomBytes(4).toString('hex')}`;
}

/** Creates a namespace labelled as a test namespace and returns its name. */
export async function createTestNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await kc.makeApiClient(CoreV1Api).createNamespace({
    body: { metadata: { name, labels: { 'keiko.dev/test-namespace': 'true' } } },
  });
  return name;
}

/** Deletes a namespace without waiting for its finalizers (kube-controller-manager finishes it). */
export async function deleteTestNamespace(kc: KubeConfig, name: string): Promise<void> {
  try {
    await kc.makeApiClient(CoreV1Api).deleteNamespace({ name });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
}
