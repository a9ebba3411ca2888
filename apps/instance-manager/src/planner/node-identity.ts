/**
 * How a group's nodes are authorised to join the cluster: a `kube-system/aws-auth` mapping of the
 * node role (upstream's way), or an EKS access entry for it. Pure decisions; the controller acts.
 *
 * - The mode is the group's `spec.eks.configuration.nodeIdentity` (settable cluster-wide through the
 *   defaults ConfigMap), else the controller's `--node-identity`. `auto` follows the cluster's
 *   authentication mode: `API` clusters (no aws-auth) get access entries, every other cluster aws-auth.
 * - A mode the cluster cannot serve is an error the user can act on (Ready=False with its reason).
 * - Access entries carry the creating group's ownership tags. One that exists without them is
 *   someone else's: used as it is, never tagged, changed or deleted. One with them is adopted (by
 *   any group of the cluster using the same role) and deleted only when no group uses the role.
 */
import { TAG_CLUSTER, TAG_GROUP, TAG_NAMESPACE } from './naming.js';
import type { OsFamily } from './user-data.js';

export const NODE_IDENTITIES = ['aws-auth', 'access-entry'] as const;
export type NodeIdentity = (typeof NODE_IDENTITIES)[number];
/** `--node-identity`: a mode, or `auto` (by the cluster's authentication mode). */
export type NodeIdentityDefault = NodeIdentity | 'auto';

/** EKS `accessConfig.authenticationMode`; undefined when DescribeCluster does not say. */
export type AuthenticationMode = 'API' | 'API_AND_CONFIG_MAP' | 'CONFIG_MAP' | (string & {});

export type ModeDecision = { mode: NodeIdentity } | { error: { reason: string; message: string } };

export function nodeIdentityMode(input: {
  requested?: NodeIdentity | undefined;
  controllerDefault: NodeIdentityDefault;
  authenticationMode?: AuthenticationMode | undefined;
  clusterName: string;
}): ModeDecision {
  const auth = input.authenticationMode;
  const mode: NodeIdentity =
    input.requested ??
    (input.controllerDefault === 'auto'
      ? auth === 'API'
        ? 'access-entry'
        : 'aws-auth'
      : input.controllerDefault);
  if (mode === 'access-entry' && auth === 'CONFIG_MAP')
    return {
      error: {
        reason: 'AccessEntriesUnsupported',
        message: `nodeIdentity access-entry: EKS cluster ${input.clusterName} has authenticationMode CONFIG_MAP (access entries need API or API_AND_CONFIG_MAP); use nodeIdentity aws-auth or change the cluster's authentication mode`,
      },
    };
  if (mode === 'aws-auth' && auth === 'API')
    return {
      error: {
        reason: 'AwsAuthUnsupported',
        message: `nodeIdentity aws-auth: EKS cluster ${input.clusterName} has authenticationMode API and ignores the aws-auth ConfigMap; use nodeIdentity access-entry`,
      },
    };
  return { mode };
}

/** The access entry type of a node role: EC2_WINDOWS for Windows nodes, else EC2_LINUX. */
export function accessEntryType(family: OsFamily): 'EC2_LINUX' | 'EC2_WINDOWS' {
  return family === 'windows' ? 'EC2_WINDOWS' : 'EC2_LINUX';
}

/** Created by this controller for a group of `clusterName` (carries the ownership tags). */
export function isOurAccessEntry(tags: Record<string, string> | undefined, clusterName: string): boolean {
  return tags?.[TAG_CLUSTER] === clusterName && Boolean(tags[TAG_NAMESPACE]) && Boolean(tags[TAG_GROUP]);
}

/** What to do so that a group's role has an access entry. */
export function planAccessEntryEnsure(
  existing: { tags?: Record<string, string> } | undefined,
  clusterName: string,
): 'create' | 'adopt' | 'use-foreign' {
  if (!existing) return 'create';
  return isOurAccessEntry(existing.tags, clusterName) ? 'adopt' : 'use-foreign';
}

/** What to do with a role's access entry when a group stops using it (deleted, role or mode changed). */
export function planAccessEntryRelease(
  existing: { tags?: Record<string, string> } | undefined,
  clusterName: string,
  otherUsers: number,
): 'absent' | 'keep-foreign' | 'keep-shared' | 'delete' {
  if (!existing) return 'absent';
  if (!isOurAccessEntry(existing.tags, clusterName)) return 'keep-foreign';
  return otherUsers > 0 ? 'keep-shared' : 'delete';
}
