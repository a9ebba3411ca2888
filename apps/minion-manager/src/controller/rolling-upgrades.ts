/**
 * Coordination with upgrade-manager: a group with a RollingUpgrade that is not finished is left alone
 * (no policy change, no replacement), since both would otherwise drain and terminate its instances.
 * Without the RollingUpgrade CRD installed there is nothing to coordinate with.
 */
import { isNotFound, type KubeClient, type KubeObject, type Resource } from '@keiko/operator-kit';

export const ROLLING_UPGRADES: Resource = {
  group: 'upgrademgr.keikoproj.io',
  version: 'v1alpha1',
  plural: 'rollingupgrades',
  kind: 'RollingUpgrade',
  namespaced: true,
};

interface RollingUpgrade extends KubeObject {
  spec?: { asgName?: string };
  status?: { currentStatus?: string };
}

/** Lower-cased names of groups with an unfinished RollingUpgrade (upstream matches asgName case-insensitively). */
export async function groupsBeingUpgraded(client: KubeClient): Promise<Set<string>> {
  try {
    const list = await client.list<RollingUpgrade>(ROLLING_UPGRADES);
    const out = new Set<string>();
    for (const ru of list.items) {
      const status = ru.status?.currentStatus ?? '';
      if (ru.spec?.asgName && status !== 'completed' && status !== 'error' && !ru.metadata.deletionTimestamp)
        out.add(ru.spec.asgName.toLowerCase());
    }
    return out;
  } catch (err) {
    if (isNotFound(err)) return new Set();
    throw err;
  }
}
