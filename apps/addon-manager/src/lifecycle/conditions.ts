/**
 * Standard conditions beside upstream's phase strings, computed from the planned status, pure:
 * Ready, Progressing, Degraded, DependenciesMet, ResourcesReady.
 */
import type { AddonStatus } from '../api/addon.js';
import type { Resolution } from './dependencies.js';
import { aggregateHealth, type ResourceEntry } from './health.js';
import { Phase } from './plan.js';

export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export function addonConditions(
  status: AddonStatus,
  deps: Resolution,
  resources: ResourceEntry[],
): ConditionInput[] {
  const installed = status.lifecycle?.installed ?? Phase.Pending;
  const reason = status.reason ?? '';
  const out: ConditionInput[] = [];
  if (deps.state === 'Met') out.push({ type: 'DependenciesMet', status: 'True', reason: 'Met', message: '' });
  else if (deps.state === 'Cycle') {
    out.push({
      type: 'DependenciesMet',
      status: 'False',
      reason: 'Cycle',
      message: `circular dependency: ${deps.cycle.join(' -> ')}`,
    });
  } else if (deps.state === 'Invalid') {
    out.push({
      type: 'DependenciesMet',
      status: 'False',
      reason: 'InvalidRequirement',
      message: deps.message,
    });
  } else {
    out.push({
      type: 'DependenciesMet',
      status: 'False',
      reason: deps.state === 'Missing' ? 'DependencyMissing' : 'DependencyNotReady',
      message: deps.blockers.map((b) => b.message).join('; '),
    });
  }
  const health = aggregateHealth(resources);
  out.push({
    type: 'ResourcesReady',
    status: health === 'Ready' ? 'True' : 'False',
    reason: health === 'Ready' ? 'AllReady' : health === 'Failed' ? 'ResourceFailed' : 'ResourcesInProgress',
    message: resources
      .filter((r) => r.status !== 'Ready')
      .map((r) => `${r.kind}/${r.name} ${r.status}`)
      .join(', '),
  });
  const progressing = installed === Phase.Pending || installed === Phase.Deleting;
  out.push({
    type: 'Progressing',
    status: progressing ? 'True' : 'False',
    reason: installed === Phase.Deleting ? 'Deleting' : progressing ? 'Running' : 'Idle',
    message: progressing ? reason : '',
  });
  const failed = [Phase.Failed, Phase.ValidationFailed, Phase.DeleteFailed].includes(installed as never);
  const degraded = failed || health === 'Failed';
  out.push({
    type: 'Degraded',
    status: degraded ? 'True' : 'False',
    reason: failed ? phaseReason(installed) : health === 'Failed' ? 'ResourceFailed' : 'AsExpected',
    message: degraded ? reason || 'a resource failed' : '',
  });
  const ready = installed === Phase.Succeeded && health === 'Ready';
  out.push({
    type: 'Ready',
    status: ready ? 'True' : 'False',
    reason: ready
      ? 'Installed'
      : installed === Phase.Succeeded
        ? 'ResourcesNotReady'
        : phaseReason(installed),
    message: ready ? '' : reason,
  });
  return out;
}

/** Upstream's phase string as a CamelCase condition reason ("Validation Failed" -> ValidationFailed). */
export function phaseReason(phase: string): string {
  return phase.replace(/\s+/g, '');
}
