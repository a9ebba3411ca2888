/**
 * Reads capacity failures out of an Auto Scaling group's scaling activities. AWS reports a spot launch
 * that found no capacity as a Failed (or still unfinished) activity whose StatusMessage says so, e.g.
 * "Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available
 * that matches your request." The zone is in the activity's Details JSON ("Availability Zone"); the
 * instance type appears in some messages ("... sufficient m5.large capacity ...") and otherwise stays
 * unknown (the back-off then covers every type in that zone).
 */
import type { CapacityFailure } from './backoff.js';

export interface ScalingActivityLike {
  StartTime?: Date;
  StatusCode?: string;
  StatusMessage?: string;
  Description?: string;
  Details?: string;
}

const CAPACITY =
  /InsufficientInstanceCapacity|insufficient .*capacity|sufficient [\w.]+ capacity|no spot capacity|capacity-not-available|capacity-oversubscribed|MaxSpotInstanceCountExceeded|UnfulfillableCapacity/i;
const TYPE = /\b([a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9]+)\b/;
const ZONE = /\b([a-z]{2}(?:-gov)?-[a-z]+-\d[a-z])\b/;

export function capacityFailures(activities: readonly ScalingActivityLike[]): CapacityFailure[] {
  const out: CapacityFailure[] = [];
  for (const a of activities) {
    if (a.StatusCode === 'Successful' || !a.StartTime) continue;
    const text = `${a.StatusMessage ?? ''} ${a.Description ?? ''}`;
    if (!CAPACITY.test(text) || !/spot/i.test(text)) continue;
    let zone = '';
    try {
      const details = JSON.parse(a.Details ?? '{}') as Record<string, unknown>;
      if (typeof details['Availability Zone'] === 'string') zone = details['Availability Zone'];
    } catch {
      // Details is documented as JSON; a malformed one just leaves the zone to the message.
    }
    zone ||= ZONE.exec(text)?.[1] ?? '';
    const instanceType = TYPE.exec(a.StatusMessage ?? '')?.[1] ?? '';
    out.push({ instanceType, zone, at: a.StartTime.getTime() });
  }
  return out;
}
