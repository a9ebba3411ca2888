/** Names and ownership tags of what the controller creates for a group, upstream's scheme. */
import { createHash } from 'node:crypto';

export const TAG_CLUSTER = 'instancegroups.keikoproj.io/ClusterName';
export const TAG_NAMESPACE = 'instancegroups.keikoproj.io/Namespace';
export const TAG_GROUP = 'instancegroups.keikoproj.io/InstanceGroup';
/** Keys of the ASG tags this controller wrote last time (so it removes only its own, never others'). */
export const TAG_MANAGED_KEYS = 'instancemgr.keikoproj.io/managed-tag-keys';

export interface GroupRef {
  clusterName: string;
  namespace: string;
  name: string;
}

/** `<cluster>-<namespace>-<name>`, or its MD5 when longer than 63 characters (upstream's rule). */
export function resourcePrefix(ref: GroupRef): string {
  const prefix = `${ref.clusterName}-${ref.namespace}-${ref.name}`;
  return prefix.length > 63 ? createHash('md5').update(prefix).digest('hex') : prefix;
}

export interface GroupNames {
  autoScalingGroup: string;
  launchTemplate: string;
  role: string;
  instanceProfile: string;
}

export function groupNames(ref: GroupRef): GroupNames {
  const p = resourcePrefix(ref);
  return { autoScalingGroup: p, launchTemplate: p, role: p, instanceProfile: p };
}

/** Tags that prove ownership: the controller acts only on resources carrying all three. */
export function ownershipTags(ref: GroupRef): Record<string, string> {
  return { [TAG_CLUSTER]: ref.clusterName, [TAG_NAMESPACE]: ref.namespace, [TAG_GROUP]: ref.name };
}

export function isOwnedBy(tags: { Key?: string; Value?: string }[] | undefined, ref: GroupRef): boolean {
  const want = ownershipTags(ref);
  return Object.entries(want).every(([k, v]) => tags?.some((t) => t.Key === k && t.Value === v));
}
