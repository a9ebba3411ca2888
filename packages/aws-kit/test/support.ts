/** Shared set-up of aws-kit's integration tests: an isolated emulator account and clients for it. */

import { createTestAwsAccount, type TestAwsAccount, uniqueName } from '@keiko/testkit';
import { Registry } from 'prom-client';
import { AwsClients, type AwsClientsOptions, AwsMetrics } from '../src/index.js';

export interface AwsTestContext {
  account: TestAwsAccount;
  aws: AwsClients;
  registry: Registry;
}

/** A fresh account on the shared emulator (see testkit's createTestAwsAccount) and clients for it. */
export async function awsTestContext(
  prefix: string,
  options: AwsClientsOptions = {},
): Promise<AwsTestContext> {
  const account = await createTestAwsAccount({ clusterName: uniqueName(prefix) });
  return { account, ...(await clientsFor(account, options)) };
}

export async function clientsFor(account: TestAwsAccount, options: AwsClientsOptions = {}) {
  const registry = new Registry();
  const aws = await AwsClients.create({
    region: account.region,
    credentials: account.credentials,
    registry,
    ...options,
  });
  return { aws, registry };
}

/** Value of a counter series, summed over the labels not given. */
export function counter(aws: AwsClients, name: keyof AwsMetrics, labels: Record<string, string>) {
  // biome-ignore lint/suspicious/noExplicitAny: every member named here is a Counter
  return AwsMetrics.value(aws.metrics[name] as any, labels);
}
