/**
 * Which node group a Node belongs to, for the view. A real kubelet knows nothing of its group; the
 * instance does: every instance of an Auto Scaling group carries `aws:autoscaling:groupName`, and
 * instance-manager's groups propagate their ownership tags (InstanceGroup and Namespace) to their
 * instances. So a Node is matched to its instance (the node simulator's instance-id annotation, else
 * the providerID) and named by the instance's tags: `namespace/name` for an InstanceGroup, the ASG
 * name for any other group. Without an instance, the node labels EKS and instance-manager set are the
 * fallback. Pure.
 */
export const INSTANCE_GROUP_TAG = 'instancegroups.keikoproj.io/InstanceGroup';
export const INSTANCE_GROUP_NAMESPACE_TAG = 'instancegroups.keikoproj.io/Namespace';
export const ASG_NAME_TAG = 'aws:autoscaling:groupName';

/** Labels that name a node's group, in order of preference, when its instance is unknown. */
export const NODE_GROUP_LABELS = ['eks.amazonaws.com/nodegroup', 'node.kubernetes.io/role'];

export interface GroupedNode {
  metadata: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { providerID?: string };
}

/** `aws:///us-west-2a/i-0123` -> `i-0123`. */
export function instanceIdOf(node: GroupedNode, idAnnotation: string): string | undefined {
  return (
    node.metadata.annotations?.[idAnnotation] ??
    /^aws:\/\/\/[^/]*\/(i-[0-9a-z]+)$/.exec(node.spec?.providerID ?? '')?.[1]
  );
}

/** The node's group name, or `(no group)`. `instanceTags` maps instance ids to their tags. */
export function nodeGroupOf(
  node: GroupedNode,
  instanceTags: ReadonlyMap<string, Record<string, string>>,
  idAnnotation: string,
): string {
  const id = instanceIdOf(node, idAnnotation);
  const tags = id ? instanceTags.get(id) : undefined;
  if (tags?.[INSTANCE_GROUP_TAG])
    return `${tags[INSTANCE_GROUP_NAMESPACE_TAG] ? `${tags[INSTANCE_GROUP_NAMESPACE_TAG]}/` : ''}${tags[INSTANCE_GROUP_TAG]}`;
  if (tags?.[ASG_NAME_TAG]) return tags[ASG_NAME_TAG];
  for (const label of NODE_GROUP_LABELS) {
    const v = node.metadata.labels?.[label];
    if (v) return v;
  }
  return '(no group)';
}
