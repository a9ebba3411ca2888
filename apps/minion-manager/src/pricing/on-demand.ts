/**
 * On-demand prices from the Pricing API (`GetProducts` filtered by region code, instance type, Linux,
 * shared tenancy, no pre-installed software, capacity status Used), cached per type for a TTL, with the
 * bundled table as fallback when the API fails. Missing means unknown, never zero.
 */
import { type Filter, GetProductsCommand } from '@aws-sdk/client-pricing';
import type { AwsClients } from '@keiko/aws-kit';
import { FALLBACK_ON_DEMAND } from './fallback.js';

export interface OnDemandPriceSource {
  /** Known prices for the types asked (unknown types are absent). */
  prices(instanceTypes: readonly string[]): Promise<Map<string, number>>;
}

/** The hourly USD price in one `PriceList` entry (a JSON string), or undefined. */
export function onDemandPriceOf(priceListEntry: string): number | undefined {
  try {
    const doc = JSON.parse(priceListEntry) as {
      terms?: {
        OnDemand?: Record<
          string,
          { priceDimensions?: Record<string, { unit?: string; pricePerUnit?: { USD?: string } }> }
        >;
      };
    };
    let best: number | undefined;
    for (const term of Object.values(doc.terms?.OnDemand ?? {})) {
      for (const dim of Object.values(term.priceDimensions ?? {})) {
        const usd = Number(dim.pricePerUnit?.USD);
        // Several rows can exist (and some are $0 placeholders, upstream #10/#15): the highest real one wins.
        if ((dim.unit ?? 'Hrs') === 'Hrs' && Number.isFinite(usd) && usd > 0) best = Math.max(best ?? 0, usd);
      }
    }
    return best;
  } catch {
    return undefined;
  }
}

export interface PricingApiOptions {
  region: string;
  ttlMs: number;
  now?: () => number;
  onError?: (instanceType: string, err: unknown) => void;
}

export class PricingApiOnDemand implements OnDemandPriceSource {
  private readonly cache = new Map<string, { price: number | undefined; at: number }>();
  constructor(
    private readonly aws: AwsClients,
    private readonly options: PricingApiOptions,
  ) {}

  async prices(instanceTypes: readonly string[]): Promise<Map<string, number>> {
    const now = (this.options.now ?? Date.now)();
    const out = new Map<string, number>();
    await Promise.all(
      [...new Set(instanceTypes)].map(async (t) => {
        let hit = this.cache.get(t);
        if (!hit || now - hit.at >= this.options.ttlMs) {
          hit = { price: await this.lookup(t), at: now };
          this.cache.set(t, hit);
        }
        if (hit.price !== undefined) out.set(t, hit.price);
      }),
    );
    return out;
  }

  private async lookup(instanceType: string): Promise<number | undefined> {
    const match = (Field: string, Value: string): Filter => ({ Type: 'TERM_MATCH', Field, Value });
    try {
      let best: number | undefined;
      let NextToken: string | undefined;
      do {
        const page = await this.aws.pricing.send(
          new GetProductsCommand({
            ServiceCode: 'AmazonEC2',
            Filters: [
              match('regionCode', this.options.region),
              match('instanceType', instanceType),
              match('operatingSystem', 'Linux'),
              match('tenancy', 'Shared'),
              match('preInstalledSw', 'NA'),
              match('capacitystatus', 'Used'),
            ],
            NextToken,
          }),
        );
        for (const entry of page.PriceList ?? []) {
          // The SDK deserialises each entry (a JSON document with mediaType application/json) into a
          // String object (smithy's LazyJsonString), not a primitive: String() gives its text, where
          // JSON.stringify would quote it again and no price would ever parse.
          const p = onDemandPriceOf(String(entry));
          if (p !== undefined) best = Math.max(best ?? 0, p);
        }
        NextToken = page.NextToken || undefined;
      } while (NextToken);
      return best ?? FALLBACK_ON_DEMAND[this.options.region]?.[instanceType];
    } catch (err) {
      this.options.onError?.(instanceType, err);
      return FALLBACK_ON_DEMAND[this.options.region]?.[instanceType];
    }
  }
}
