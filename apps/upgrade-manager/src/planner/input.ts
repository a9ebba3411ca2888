/**
 * The planner's input from a RollingUpgrade (spec, status) and what was observed, the one place the
 * reconciler and the `plan` command both build it, so a dry run plans exactly what a roll would do.
 */
import type { RollingUpgrade, RollingUpgradeStatus } from '../api/rollingupgrade.js';
import type { ObservedInstance, ObservedNode, PlanInput, RollSettings, TargetConfig } from './types.js';

export interface ObservedGroup {
  desiredCapacity: number;
  target: TargetConfig;
  instances: ObservedInstance[];
}

export function planInputFor(
  ru: Pick<RollingUpgrade, 'metadata'>,
  status: RollingUpgradeStatus,
  group: ObservedGroup,
  nodes: ReadonlyMap<string, ObservedNode>,
  settings: RollSettings,
  at: { startedAt: Date; now: Date; surgeBudget: number; hold?: string },
): PlanInput {
  return {
    desiredCapacity: group.desiredCapacity,
    instances: group.instances,
    target: group.target,
    nodes,
    settings,
    progress: status.instances ?? [],
    createdAt: new Date(ru.metadata.creationTimestamp ?? at.startedAt),
    startedAt: at.startedAt,
    now: at.now,
    lastTerminationTime: status.lastTerminationTime ? new Date(status.lastTerminationTime) : undefined,
    lastDrainTime: status.lastDrainTime ? new Date(status.lastDrainTime) : undefined,
    surgeBudget: at.surgeBudget,
    ...(at.hold ? { hold: at.hold } : {}),
  };
}
