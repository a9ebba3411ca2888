/**
 * Status per group, in one ConfigMap (default `minion-manager-status` in the controller's namespace):
 * a key per group holding JSON. A ConfigMap rather than a CRD because minion-manager has no API object
 * of its own to hang status on (the group is in AWS) and a CRD would be a second thing to install and
 * keep compatible; `kubectl get cm minion-manager-status -o yaml` is the whole UI.
 */
import { CoreResources, isAlreadyExists, type KubeClient } from '@keiko/operator-kit';

export interface GroupStatus {
  mode: string;
  market?: string;
  marketSince?: string;
  reason: string;
  message: string;
  ratio?: number;
  instanceType?: string;
  spotPrice?: number;
  onDemandPrice?: number;
  instances?: { spot: number; onDemand: number };
  replacing?: string[];
  capacityBackoff?: string;
  skipped?: string;
  updatedAt: string;
}

/** ConfigMap keys allow `[-._a-zA-Z0-9]`; group names allow more. */
export const statusKey = (asg: string) => asg.replace(/[^-._a-zA-Z0-9]/g, '_');

export async function writeStatus(
  client: KubeClient,
  namespace: string,
  name: string,
  groups: ReadonlyMap<string, GroupStatus>,
): Promise<void> {
  const data: Record<string, string> = {};
  for (const [asg, status] of groups) data[statusKey(asg)] = JSON.stringify(status);
  await client.apply(CoreResources.configMaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'minion-manager' } },
    data,
  });
}

/**
 * Creates the (empty) status ConfigMap if it is missing, before the controller starts: its creation
 * by the first cycle would otherwise trigger an immediate second cycle.
 */
export async function ensureStatusConfigMap(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<void> {
  if (await client.getOrUndefined(CoreResources.configMaps, name, namespace)) return;
  try {
    await client.create(CoreResources.configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'minion-manager' } },
    });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}
