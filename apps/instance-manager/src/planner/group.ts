/** Facts about a group derived from its spec and annotations alone: OS family, node labels, lifecycle. Pure. */
import type { EksConfiguration } from '../api/instancegroup.js';
import { OS_FAMILY_ANNOTATION, type OsFamily } from './user-data.js';

export const ROLE_LABEL = 'node.kubernetes.io/role';
export const LIFECYCLE_LABEL = 'instancemgr.keikoproj.io/lifecycle';
export const IMAGE_LABEL = 'instancemgr.keikoproj.io/image';
export const LOCK_ANNOTATION = 'instancemgr.keikoproj.io/lock-upgrades';
export const IRSA_ANNOTATION = 'instancemgr.keikoproj.io/irsa-enabled';
export const DEFAULT_LABELS_ANNOTATION = 'instancemgr.keikoproj.io/default-labels';

/**
 * The OS family: the annotation, AL2023 when a NodeConfigYaml stage is present, otherwise AL2023.
 * (Upstream defaulted to AL2; AWS publishes no AL2 EKS AMI for current Kubernetes versions.)
 */
export function osFamily(annotations: Record<string, string>, config: EksConfiguration): OsFamily {
  if (config.userData?.some((u) => u.stage === 'NodeConfigYaml')) return 'amazonlinux2023';
  const a = annotations[OS_FAMILY_ANNOTATION];
  return a === 'amazonlinux2' || a === 'bottlerocket' || a === 'windows' || a === 'amazonlinux2023'
    ? a
    : 'amazonlinux2023';
}

export function lifecycle(config: EksConfiguration): 'normal' | 'spot' | 'mixed' {
  if (config.mixedInstancesPolicy) return 'mixed';
  if (config.spotPrice) return 'spot';
  return 'normal';
}

/** Labels the kubelet registers: role, lifecycle, image, then the user's (which win). */
export function nodeLabels(
  groupName: string,
  annotations: Record<string, string>,
  config: EksConfiguration,
  imageId: string,
): Record<string, string> {
  const defaults: Record<string, string> = {};
  const custom = annotations[DEFAULT_LABELS_ANNOTATION];
  if (custom) {
    for (const pair of custom.split(',')) {
      const [k, v] = pair.split('=');
      if (k?.trim()) defaults[k.trim()] = (v ?? '').trim();
    }
  } else {
    defaults[ROLE_LABEL] = groupName;
  }
  return {
    ...defaults,
    [LIFECYCLE_LABEL]: lifecycle(config),
    [IMAGE_LABEL]: imageId,
    ...(config.labels ?? {}),
  };
}

/** The managed policies of a controller-created node role. */
export function nodeRolePolicies(annotations: Record<string, string>, config: EksConfiguration): string[] {
  const base = ['AmazonEKSWorkerNodePolicy', 'AmazonEC2ContainerRegistryReadOnly'];
  if (annotations[IRSA_ANNOTATION] !== 'true') base.push('AmazonEKS_CNI_Policy');
  return [...new Set([...base, ...(config.managedPolicies ?? [])])].map((p) =>
    p.startsWith('arn:') ? p : `arn:aws:iam::aws:policy/${p}`,
  );
}
