/**
 * EKS access entries of node roles (the alternative to aws-auth; decisions in planner/node-identity).
 *
 * Writes are serialised in the process, so one group's release never interleaves with another's
 * ensure of the same role. What was created is in AWS: the entry carries the creating group's
 * ownership tags, and the group's status records `nodeIdentity: access-entry`, so a restarted
 * controller releases exactly what it would have released before.
 */
import { type GroupRef, ownershipTags } from '../planner/naming.js';
import { planAccessEntryEnsure, planAccessEntryRelease } from '../planner/node-identity.js';
import type { Cloud } from './cloud.js';

let chain: Promise<unknown> = Promise.resolve();
function serialised<T>(fn: () => Promise<T>): Promise<T> {
  const next = chain.then(fn, fn);
  chain = next.catch(() => undefined);
  return next;
}

export type EnsureOutcome = 'created' | 'adopted' | 'foreign';

/** Makes sure `principalArn` has an access entry; creates it tagged as `ref`'s when there is none. */
export function ensureAccessEntry(
  cloud: Cloud,
  ref: GroupRef,
  principalArn: string,
  type: 'EC2_LINUX' | 'EC2_WINDOWS',
): Promise<EnsureOutcome> {
  return serialised(async () => {
    for (let attempt = 0; ; attempt++) {
      const existing = await cloud.accessEntry(ref.clusterName, principalArn);
      const plan = planAccessEntryEnsure(existing, ref.clusterName);
      if (plan === 'adopt') return 'adopted';
      if (plan === 'use-foreign') return 'foreign';
      if (await cloud.createAccessEntry(ref.clusterName, principalArn, type, ownershipTags(ref)))
        return 'created';
      // Created meanwhile (another controller, a person): look again and decide on its tags.
      if (attempt >= 2) throw new Error(`access entry of ${principalArn} exists but cannot be read`);
    }
  });
}

/**
 * `ref` no longer uses `principalArn`'s entry: deletes it only when this controller created it and
 * `otherUsers()` (counted inside the serialised section) is 0. Returns what it did.
 */
export function releaseAccessEntry(
  cloud: Cloud,
  clusterName: string,
  principalArn: string,
  otherUsers: () => number,
): Promise<ReturnType<typeof planAccessEntryRelease>> {
  return serialised(async () => {
    const existing = await cloud.accessEntry(clusterName, principalArn);
    const plan = planAccessEntryRelease(existing, clusterName, otherUsers());
    if (plan === 'delete') await cloud.deleteAccessEntry(clusterName, principalArn);
    return plan;
  });
}
