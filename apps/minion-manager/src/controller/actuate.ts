/**
 * Makes a group's MixedInstancesPolicy say the decided market: on spot, OnDemandPercentageAboveBaseCapacity
 * 0 with `price-capacity-optimized` allocation; on on-demand, 100. OnDemandBaseCapacity comes from the
 * policy, CapacityRebalance is turned on, SpotMaxPrice is left unset (it defaults to the on-demand price,
 * the bid upstream computed). A group launched from a plain launch template gets a MixedInstancesPolicy
 * around the same template and version; instance-type overrides are kept as they are.
 */
import {
  type AutoScalingGroup,
  type InstancesDistribution,
  type MixedInstancesPolicy,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import type { AutoScalingGroups, AwsClients } from '@keiko/aws-kit';
import type { Market, Policy } from '../decision/types.js';

export type LaunchSource = 'mixed-instances-policy' | 'launch-template' | 'launch-configuration' | 'none';

export function launchSourceOf(group: AutoScalingGroup): LaunchSource {
  if (group.MixedInstancesPolicy?.LaunchTemplate) return 'mixed-instances-policy';
  if (group.LaunchTemplate) return 'launch-template';
  if (group.LaunchConfigurationName) return 'launch-configuration';
  return 'none';
}

export function desiredDistribution(
  market: Market,
  policy: Policy,
  current?: InstancesDistribution,
): InstancesDistribution {
  return {
    ...current,
    OnDemandBaseCapacity: policy.onDemandBaseCapacity,
    OnDemandPercentageAboveBaseCapacity: market === 'spot' ? 0 : 100,
    SpotAllocationStrategy: 'price-capacity-optimized',
  };
}

/** The MixedInstancesPolicy the group should have, or undefined when it already has it. */
export function policyUpdate(
  group: AutoScalingGroup,
  market: Market,
  policy: Policy,
): MixedInstancesPolicy | undefined {
  const mip = group.MixedInstancesPolicy;
  const lt =
    mip?.LaunchTemplate ??
    (group.LaunchTemplate ? { LaunchTemplateSpecification: group.LaunchTemplate } : undefined);
  if (!lt) return undefined;
  const current = mip?.InstancesDistribution;
  const desired = desiredDistribution(market, policy, current);
  const same =
    mip &&
    current?.OnDemandBaseCapacity === desired.OnDemandBaseCapacity &&
    current?.OnDemandPercentageAboveBaseCapacity === desired.OnDemandPercentageAboveBaseCapacity &&
    current?.SpotAllocationStrategy === desired.SpotAllocationStrategy &&
    group.CapacityRebalance === true;
  if (same) return undefined;
  const spec = lt.LaunchTemplateSpecification ?? {};
  return {
    LaunchTemplate: {
      LaunchTemplateSpecification: {
        ...(spec.LaunchTemplateId
          ? { LaunchTemplateId: spec.LaunchTemplateId }
          : { LaunchTemplateName: spec.LaunchTemplateName }),
        Version: spec.Version ?? '$Default',
      },
      Overrides: lt.Overrides ?? [],
    },
    InstancesDistribution: desired,
  };
}

/** Applies the update (the whole policy, so nothing is lost on APIs that replace rather than merge). */
export async function applyPolicy(
  aws: AwsClients,
  asgs: AutoScalingGroups,
  name: string,
  update: MixedInstancesPolicy,
) {
  await aws.autoScaling.send(
    new UpdateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      MixedInstancesPolicy: update,
      CapacityRebalance: true,
    }),
  );
  asgs.written(name);
}
