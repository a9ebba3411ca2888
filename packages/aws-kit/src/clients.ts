/**
 * One factory for every AWS client a Keiko tool uses, all configured alike: the region from the
 * tool's flag or the environment or IMDS, credentials from the default chain (environment, IRSA web
 * identity, EKS Pod Identity, instance profile), adaptive retries with a ceiling, the endpoint from
 * `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` (read by the SDK itself) or an explicit option,
 * and call metrics. The same code therefore runs against AWS and against the emulator.
 *
 * Clients are created on first use and shared; so are the metrics, the read cache and the batchers
 * of keyed reads.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { IAMClient } from '@aws-sdk/client-iam';
import { PricingClient } from '@aws-sdk/client-pricing';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { Registry } from 'prom-client';
import { KeyBatcher, type KeyBatcherOptions, type KeyError } from './batch.js';
import { type CacheLookup, cacheKey, TtlCache } from './cache.js';
import { resolveRegion } from './config.js';
import { type InstrumentableClient, instrumentClient } from './instrument.js';
import { AwsMetrics } from './metrics.js';
import { type RetryOptions, retryStrategy } from './retry.js';

export type ServiceName = 'autoscaling' | 'ec2' | 'eks' | 'iam' | 's3' | 'ssm' | 'sts' | 'pricing';

export interface AwsClientsOptions extends RetryOptions {
  /** The tool's `--region` flag; falls back to the environment, then IMDS. */
  region?: string;
  /** An endpoint for every service (normally left to `AWS_ENDPOINT_URL`). */
  endpoint?: string;
  /** Credentials or a provider; default: the SDK's node default chain. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Where the metrics go (an app passes the Registry of its /metrics). Default: a private one. */
  registry?: Registry;
  /** Share metrics between several AwsClients (e.g. tests); overrides `registry`. */
  metrics?: AwsMetrics;
  /** Share a read cache; default: one per AwsClients. */
  cache?: TtlCache;
  /** Called with every client as it is created, after aws-kit's own middleware (tests, tracing). */
  customize?: (client: InstrumentableClient, service: ServiceName) => void;
}

/** Pricing's API lives in us-east-1 (and ap-south-1, eu-central-1) whatever the workload's region. */
const PRICING_REGION = 'us-east-1';

export class AwsClients {
  readonly metrics: AwsMetrics;
  readonly cache: TtlCache;
  private readonly clients = new Map<ServiceName, unknown>();
  private readonly batchers = new Map<string, KeyBatcher<unknown>>();

  private constructor(
    readonly region: string,
    private readonly options: AwsClientsOptions,
  ) {
    this.metrics = options.metrics ?? new AwsMetrics(options.registry ?? new Registry());
    this.cache = options.cache ?? new TtlCache();
  }

  /** Resolves the region (see {@link resolveRegion}) and returns the factory. */
  static async create(options: AwsClientsOptions = {}): Promise<AwsClients> {
    return new AwsClients(await resolveRegion(options.region), options);
  }

  get autoScaling(): AutoScalingClient {
    return this.client('autoscaling', (c) => new AutoScalingClient(c));
  }
  get ec2(): EC2Client {
    return this.client('ec2', (c) => new EC2Client(c));
  }
  get eks(): EKSClient {
    return this.client('eks', (c) => new EKSClient(c));
  }
  get iam(): IAMClient {
    return this.client('iam', (c) => new IAMClient(c));
  }
  get s3(): S3Client {
    // Path-style addressing when an endpoint is overridden: emulators serve no bucket subdomains.
    const custom = Boolean(
      this.options.endpoint || process.env.AWS_ENDPOINT_URL || process.env.AWS_ENDPOINT_URL_S3,
    );
    return this.client('s3', (c) => new S3Client({ ...c, forcePathStyle: custom }));
  }
  get ssm(): SSMClient {
    return this.client('ssm', (c) => new SSMClient(c));
  }
  get sts(): STSClient {
    return this.client('sts', (c) => new STSClient(c));
  }
  get pricing(): PricingClient {
    return this.client('pricing', (c) => new PricingClient({ ...c, region: PRICING_REGION }));
  }

  /**
   * A read through the cache: concurrent identical reads share one call, and the answer is kept
   * for `lookup.ttlMs`. Counts hits and misses under the given service and operation.
   */
  cachedRead<T>(
    service: ServiceName,
    operation: string,
    input: unknown,
    lookup: CacheLookup,
    load: () => Promise<T>,
  ) {
    return this.cache.get(cacheKey(service, operation, input), lookup, load, (outcome) => {
      if (outcome === 'miss') this.metrics.cacheMisses.inc({ service, operation });
      else this.metrics.cacheHits.inc({ service, operation });
    });
  }

  /**
   * The shared batcher of one kind of keyed read (e.g. groups by name), created on first use: every
   * helper built on these clients batches into the same calls.
   */
  batcher<V>(
    id: string,
    loadMany: (keys: string[]) => Promise<ReadonlyMap<string, V | KeyError>>,
    options: KeyBatcherOptions,
  ): KeyBatcher<V> {
    let batcher = this.batchers.get(id) as KeyBatcher<V> | undefined;
    if (!batcher) {
      batcher = new KeyBatcher(loadMany, options);
      this.batchers.set(id, batcher as KeyBatcher<unknown>);
    }
    return batcher;
  }

  /** Invalidates cached reads carrying any of `tags` (call after a write). */
  invalidate(...tags: string[]): void {
    this.cache.invalidate(...tags);
  }

  /** Closes the clients' HTTP agents. */
  destroy(): void {
    for (const c of this.clients.values()) (c as { destroy(): void }).destroy();
    this.clients.clear();
  }

  private client<C extends InstrumentableClient>(service: ServiceName, make: (config: BaseConfig) => C): C {
    let client = this.clients.get(service) as C | undefined;
    if (!client) {
      client = make(this.baseConfig());
      instrumentClient(client, service, this.metrics);
      this.options.customize?.(client, service);
      this.clients.set(service, client);
    }
    return client;
  }

  private baseConfig(): BaseConfig {
    return {
      region: this.region,
      credentials: this.options.credentials ?? fromNodeProviderChain(),
      retryStrategy: retryStrategy(this.options),
      ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
    };
  }
}

interface BaseConfig {
  region: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  retryStrategy: ReturnType<typeof retryStrategy>;
  endpoint?: string;
}
