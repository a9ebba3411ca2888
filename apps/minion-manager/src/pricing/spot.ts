/**
 * Spot prices from `DescribeSpotPriceHistory` (aws-kit pages it and caches it for 5 minutes), for the
 * group's instance types and zones only. The newest sample per pool is the current price; a pool with
 * no sample is absent (unknown), which the decision reads as the on-demand price.
 */
import type { Ec2 } from '@keiko/aws-kit';

export interface SpotPriceSource {
  /** Latest price by `type@zone`. */
  prices(instanceTypes: readonly string[], zones: readonly string[]): Promise<Map<string, number>>;
}

export class Ec2SpotPrices implements SpotPriceSource {
  constructor(
    private readonly ec2: Ec2,
    private readonly lookbackMs = 60 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async prices(instanceTypes: readonly string[], zones: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (instanceTypes.length === 0 || zones.length === 0) return out;
    // Rounded to the minute so the cached query key is shared by every group of a cycle.
    const since = new Date(Math.floor((this.now() - this.lookbackMs) / 60_000) * 60_000);
    const history = await this.ec2.spotPriceHistory({
      instanceTypes: [...instanceTypes].sort(),
      availabilityZones: [...zones].sort(),
      since,
    });
    const newest = new Map<string, number>();
    for (const s of history) {
      const price = Number(s.SpotPrice);
      if (!s.InstanceType || !s.AvailabilityZone || !Number.isFinite(price) || price <= 0) continue;
      const key = `${s.InstanceType}@${s.AvailabilityZone}`;
      const at = s.Timestamp?.getTime() ?? 0;
      if (at >= (newest.get(key) ?? Number.NEGATIVE_INFINITY)) {
        newest.set(key, at);
        out.set(key, price);
      }
    }
    return out;
  }
}
