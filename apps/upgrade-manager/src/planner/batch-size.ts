/** maxUnavailable as a count. Pure. */

/**
 * Resolves `maxUnavailable` (a count, `"N"` or `"N%"` of the desired capacity, rounded up) to a batch
 * size of at least 1 and at most the desired capacity (1 when the group is empty). Absent means 1.
 * Throws on values the CRD would refuse (kept for CRs written before the CRD had validation).
 */
export function resolveMaxUnavailable(value: number | string | undefined, desiredCapacity: number): number {
  const cap = Math.max(1, desiredCapacity);
  if (value === undefined) return 1;
  let count: number;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0)
      throw new Error(`maxUnavailable ${value} is not a non-negative count`);
    count = value;
  } else if (/^\d+$/.test(value)) {
    count = Number(value);
  } else {
    const match = /^(\d+)%$/.exec(value);
    const percent = match ? Number(match[1]) : Number.NaN;
    if (!(percent >= 1 && percent <= 100))
      throw new Error(`maxUnavailable ${value} is not a percentage from 1% to 100%`);
    count = Math.ceil((desiredCapacity * percent) / 100);
  }
  return Math.min(cap, Math.max(1, count));
}
