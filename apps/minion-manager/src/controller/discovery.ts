/**
 * Discovery of the cluster's opted-in groups: those carrying the `k8s-minion-manager` tag and either
 * upstream's `KubernetesCluster=<cluster>` tag or EKS's `kubernetes.io/cluster/<cluster>`. AWS filters
 * by tag (two queries, every page of each), so no region-wide scan happens.
 */
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import type { AutoScalingGroups } from '@keiko/aws-kit';
import { eksClusterTag, TAG } from '../asg/tags.js';

export async function discoverGroups(
  asgs: AutoScalingGroups,
  clusterName: string,
): Promise<AutoScalingGroup[]> {
  const [kops, eks] = await Promise.all([
    asgs.findByTags({ [TAG.mode]: undefined, [TAG.kopsCluster]: clusterName }, { ttlMs: 0 }),
    asgs.findByTags({ [TAG.mode]: undefined, [eksClusterTag(clusterName)]: undefined }, { ttlMs: 0 }),
  ]);
  const byName = new Map<string, AutoScalingGroup>();
  for (const g of [...kops, ...eks]) if (g.AutoScalingGroupName) byName.set(g.AutoScalingGroupName, g);
  return [...byName.values()].sort((a, b) =>
    (a.AutoScalingGroupName as string).localeCompare(b.AutoScalingGroupName as string),
  );
}
