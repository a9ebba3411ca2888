/**
 * A stand-in for the AWS Pricing API, which moto does not emulate. minion-manager asks it for
 * on-demand prices (`GetProducts`); without an answer the price is unknown and, by design, a group
 * never goes to spot. The sandbox points the apps at it with `AWS_ENDPOINT_URL_PRICING` (the SDK
 * prefers it over `AWS_ENDPOINT_URL`), so everything else still goes to moto.
 *
 * It answers `GetProducts` in the Pricing API's own format (a `PriceList` of JSON strings with
 * `terms.OnDemand.*.priceDimensions.*.pricePerUnit.USD`), from {@link SANDBOX_ON_DEMAND_PRICES}, by
 * the request's `regionCode` and `instanceType` filters. Anything else is an UnknownOperation error.
 */
import { createServer, type Server } from 'node:http';

/** Linux, shared tenancy, USD per hour: AWS's public us-west-2 prices for a few types (2026-11). */
export const SANDBOX_ON_DEMAND_PRICES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  'us-west-2': {
    't3.medium': 0.0416,
    't3.large': 0.0832,
    'm5.large': 0.096,
    'm5.xlarge': 0.192,
    'c5.large': 0.085,
    'r5.large': 0.126,
  },
};

interface Filter {
  Field?: string;
  Value?: string;
}

/** The `GetProducts` answer for one request body. Pure. */
export function getProducts(
  body: { ServiceCode?: string; Filters?: Filter[] },
  prices: typeof SANDBOX_ON_DEMAND_PRICES = SANDBOX_ON_DEMAND_PRICES,
): { FormatVersion: string; PriceList: string[] } {
  const value = (field: string) => body.Filters?.find((f) => f.Field === field)?.Value;
  const region = value('regionCode');
  const instanceType = value('instanceType');
  const price =
    body.ServiceCode === 'AmazonEC2' && region && instanceType ? prices[region]?.[instanceType] : undefined;
  const entry = {
    product: {
      attributes: { regionCode: region, instanceType, operatingSystem: 'Linux', tenancy: 'Shared' },
    },
    terms: {
      OnDemand: {
        'SANDBOX.ONDEMAND': {
          priceDimensions: { 'SANDBOX.ONDEMAND.HRS': { unit: 'Hrs', pricePerUnit: { USD: String(price) } } },
        },
      },
    },
  };
  return { FormatVersion: 'aws_v1', PriceList: price === undefined ? [] : [JSON.stringify(entry)] };
}

export interface PricingStandIn {
  endpoint: string;
  stop(): Promise<void>;
}

/** Starts the stand-in on a free loopback port. */
export async function startPricingStandIn(): Promise<PricingStandIn> {
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      const target = String(req.headers['x-amz-target'] ?? '');
      if (req.method !== 'POST' || !target.endsWith('.GetProducts'))
        return reply(400, { __type: 'UnknownOperationException', message: `${target} is not emulated` });
      try {
        reply(200, getProducts(JSON.parse(text || '{}')));
      } catch (err) {
        reply(400, { __type: 'SerializationException', message: String(err) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
