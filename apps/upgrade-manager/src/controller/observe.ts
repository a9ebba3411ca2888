/**
 * Observation: the ASG, its instances (with the template each really runs) and the cluster's nodes,
 * turned into the planner's plain data. Reads only; AWS reads go through aws-kit's coalescing cache,
 * filtered by name and instance id (never a region-wide scan).
 */
import type { AutoScalingGroup, LaunchTemplateSpecification } from '@aws-sdk/client-auto-scaling';
import {
  type AutoScalingGroups,
  type AwsClients,
  asgTag,
  type Ec2,
  instanceLaunchTemplate,
  instanceTag,
  launchTemplateTag,
} from '@keiko/aws-kit';
import type { KubeObject } from '@keiko/operator-kit';
import type { ObservedInstance, ObservedNode, TargetConfig, TemplateRef } from '../planner/types.js';

export interface AsgObservation {
  name: string;
  desiredCapacity: number;
  target: TargetConfig;
  instances: ObservedInstance[];
}

/**
 * Launch templates change rarely; a minute of caching keeps DescribeLaunchTemplates off the per-node
 * bill. A roll's first look and its completion check read them fresh (`freshTemplates`): a
 * RollingUpgrade created right after a new template version must not find "nothing drifted".
 */
const TEMPLATE_TTL_MS = 60_000;
/**
 * What is read from DescribeInstances (the template version from EC2's `aws:ec2launchtemplate:*`
 * tags, which nobody can change, the type, the launch time) is fixed for an instance's life; its
 * state comes from the group. So an instance is described once, when it first appears, not on every
 * pass (a `fresh` look still reads them again).
 */
const INSTANCE_FACTS_TTL_MS = 10 * 60_000;

export interface AwsView {
  aws: AwsClients;
  asgs: AutoScalingGroups;
  ec2: Ec2;
}

/**
 * `fresh`: the group and its instances read from AWS now (lifecycle states before acting on them);
 * `freshTemplates`: the group and its templates read now. "Fresh" drops the cached entries and then
 * reads with the normal TTL (rather than `{ ttlMs: 0 }`), so the fresh answer is stored and the
 * passes that follow within the TTL reuse it instead of calling AWS again.
 */
export async function observeAsg(
  { aws, asgs, ec2 }: AwsView,
  name: string,
  options: { fresh?: boolean; freshTemplates?: boolean } = {},
): Promise<AsgObservation | undefined> {
  if (options.fresh || options.freshTemplates) aws.invalidate(asgTag(name));
  const group = await asgs.get(name);
  if (!group) return undefined;
  if (options.freshTemplates) {
    const lt =
      group.LaunchTemplate ?? group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
    const overrides = group.MixedInstancesPolicy?.LaunchTemplate?.Overrides ?? [];
    for (const spec of [lt, ...overrides.map((o) => o.LaunchTemplateSpecification)]) {
      const idOrName = spec?.LaunchTemplateId ?? spec?.LaunchTemplateName;
      if (idOrName) aws.invalidate(launchTemplateTag(idOrName));
    }
  }
  const target = await targetConfig(ec2, group);
  const members = group.Instances ?? [];
  if (options.fresh) aws.invalidate(...members.map((i) => instanceTag(i.InstanceId!)));
  const described = new Map(
    (
      await ec2.instances(
        members.map((i) => i.InstanceId!),
        { ttlMs: INSTANCE_FACTS_TTL_MS },
      )
    ).map((i) => [i.InstanceId!, i]),
  );
  const instances: ObservedInstance[] = members.map((m) => {
    const ec2Instance = described.get(m.InstanceId!);
    const lt = ec2Instance ? instanceLaunchTemplate(ec2Instance) : undefined;
    return {
      instanceId: m.InstanceId!,
      availabilityZone: m.AvailabilityZone ?? 'unknown',
      lifecycleState: m.LifecycleState ?? 'Unknown',
      instanceType: m.InstanceType ?? ec2Instance?.InstanceType,
      launchConfigurationName: m.LaunchConfigurationName,
      launchTemplate: lt
        ? { id: lt.launchTemplateId, version: lt.version }
        : m.LaunchTemplate
          ? {
              id: m.LaunchTemplate.LaunchTemplateId,
              name: m.LaunchTemplate.LaunchTemplateName,
              version: m.LaunchTemplate.Version,
            }
          : undefined,
      launchTime: ec2Instance?.LaunchTime,
    };
  });
  return {
    name: group.AutoScalingGroupName!,
    desiredCapacity: group.DesiredCapacity ?? 0,
    target,
    instances,
  };
}

async function targetConfig(ec2: Ec2, group: AutoScalingGroup): Promise<TargetConfig> {
  if (group.LaunchConfigurationName) return { launchConfigurationName: group.LaunchConfigurationName };
  const mixed = group.MixedInstancesPolicy?.LaunchTemplate;
  const base = group.LaunchTemplate ?? mixed?.LaunchTemplateSpecification;
  const target: TargetConfig = {};
  if (base) target.launchTemplate = await resolveTemplate(ec2, base);
  for (const o of mixed?.Overrides ?? []) {
    if (o.InstanceType && o.LaunchTemplateSpecification) {
      target.overrides ??= {};
      target.overrides[o.InstanceType] = await resolveTemplate(ec2, o.LaunchTemplateSpecification);
    }
  }
  return target;
}

/** `$Latest`, `$Default` (and an absent version, which AWS reads as `$Default`) become numbers. */
async function resolveTemplate(ec2: Ec2, spec: LaunchTemplateSpecification): Promise<TemplateRef> {
  const idOrName = spec.LaunchTemplateId ?? spec.LaunchTemplateName!;
  const lt = await ec2.launchTemplate(idOrName, { ttlMs: TEMPLATE_TTL_MS });
  const ref: TemplateRef = {
    id: lt?.LaunchTemplateId ?? spec.LaunchTemplateId,
    name: lt?.LaunchTemplateName ?? spec.LaunchTemplateName,
  };
  const v = spec.Version ?? '$Default';
  if (v === '$Latest') ref.version = lt?.LatestVersionNumber?.toString();
  else if (v === '$Default') ref.version = lt?.DefaultVersionNumber?.toString();
  else ref.version = v;
  return ref;
}

export interface NodeObject extends KubeObject {
  spec?: { providerID?: string; unschedulable?: boolean };
  status?: { conditions?: { type: string; status: string }[] };
}

/**
 * The Node informer's transform: only what {@link observeNode} reads is cached (name, labels,
 * creation time, providerID, unschedulable, the Ready condition). A kubelet's Node carries images,
 * addresses, capacity and a dozen conditions; none of it is needed here, and a cluster-wide cache of
 * full Nodes is most of what a controller holds for a large cluster.
 */
export function slimNode(node: NodeObject): NodeObject {
  const { name, uid, resourceVersion, labels, creationTimestamp, deletionTimestamp } = node.metadata;
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    apiVersion: node.apiVersion,
    kind: node.kind,
    metadata: { name, uid, resourceVersion, labels, creationTimestamp, deletionTimestamp },
    spec: { providerID: node.spec?.providerID, unschedulable: node.spec?.unschedulable },
    status: { conditions: ready ? [{ type: ready.type, status: ready.status }] : [] },
  };
}

/** `aws:///us-east-1a/i-0abc` -> `i-0abc`. */
export function instanceIdOf(node: NodeObject): string | undefined {
  const id = node.spec?.providerID?.split('/').pop();
  return id?.startsWith('i-') ? id : undefined;
}

export function observeNode(node: NodeObject): ObservedNode | undefined {
  const instanceId = instanceIdOf(node);
  if (!instanceId) return undefined;
  return {
    name: node.metadata.name!,
    instanceId,
    ready: node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    unschedulable: node.spec?.unschedulable ?? false,
    createdAt: node.metadata.creationTimestamp ? new Date(node.metadata.creationTimestamp) : undefined,
    labels: node.metadata.labels ?? {},
  };
}
