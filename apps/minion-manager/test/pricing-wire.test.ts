/**
 * The Pricing API as the SDK really hands it over. moto has no Pricing API, so a local HTTP server
 * answers GetProducts with the JSON body AWS sends, and the real PricingClient (its own deserialiser,
 * which turns each PriceList entry into a String object, not a primitive) talks to it. The
 * in-process stand-in of the other tests answers after deserialisation and cannot catch that.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PricingClient } from '@aws-sdk/client-pricing';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { AwsClients } from '@keiko/aws-kit';
import { PricingApiOnDemand } from '../src/pricing/on-demand.js';

const PRICES: Record<string, string> = { 'm5.large': '0.096', 'c5.xlarge': '0.17' };
const requests: { target: string; filters: { Field: string; Value: string }[] }[] = [];
let server: Server;
let endpoint: string;

function product(type: string, usd: string): string {
  return JSON.stringify({
    product: { attributes: { instanceType: type, regionCode: 'us-west-2' } },
    terms: {
      OnDemand: {
        'ABC.JRTCKXETXF': {
          priceDimensions: {
            // AWS lists $0 placeholder rows beside the real one.
            'ABC.JRTCKXETXF.1': { unit: 'Hrs', pricePerUnit: { USD: '0.0000000000' } },
            'ABC.JRTCKXETXF.2': { unit: 'Hrs', pricePerUnit: { USD: usd } },
          },
        },
      },
    },
  });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const input = JSON.parse(body) as { Filters: { Field: string; Value: string }[] };
      requests.push({ target: String(req.headers['x-amz-target']), filters: input.Filters });
      const type = input.Filters.find((f) => f.Field === 'instanceType')?.Value ?? '';
      const usd = PRICES[type];
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      res.end(JSON.stringify({ FormatVersion: 'aws_v1', PriceList: usd ? [product(type, usd)] : [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

test('prices parse from the wire format, through the real SDK deserialiser', async () => {
  const pricing = new PricingClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const source = new PricingApiOnDemand({ pricing } as unknown as AwsClients, {
    region: 'us-west-2',
    ttlMs: 60_000,
    onError: (t, err) => {
      throw new Error(`pricing lookup for ${t} failed: ${String(err)}`);
    },
  });
  const prices = await source.prices(['m5.large', 'c5.xlarge', 'x9.unknown']);
  expect(Object.fromEntries(prices)).toEqual({ 'm5.large': 0.096, 'c5.xlarge': 0.17 });
  expect(requests).toHaveLength(3);
  expect(requests[0]!.target).toBe('AWSPriceListService.GetProducts');
  expect(requests[0]!.filters).toContainEqual({
    Type: 'TERM_MATCH',
    Field: 'regionCode',
    Value: 'us-west-2',
  });
  // Cached for the TTL: asking again makes no request.
  await source.prices(['m5.large']);
  expect(requests).toHaveLength(3);
  pricing.destroy();
});
