/**
 * @keiko/aws-kit: one way for every Keiko tool to talk to AWS. A client factory (region, default
 * credential chain, adaptive retries, `AWS_ENDPOINT_URL`), a coalescing TTL cache for reads,
 * error classification, call metrics, and the ASG/EC2/EKS/SSM/S3 helpers the tools share.
 * It knows nothing about Kubernetes.
 */
export {
  ASG_QUERY_TAG,
  AutoScalingGroups,
  asgTag,
  chunk,
  type ReadOptions,
  STANDBY_CHUNK,
} from './autoscaling.js';
export { KeyBatcher, type KeyBatcherOptions, KeyError } from './batch.js';
export { type CacheLookup, type CacheOutcome, cacheKey, TtlCache } from './cache.js';
export { AwsClients, type AwsClientsOptions, type ServiceName } from './clients.js';
export { regionFromImds, resolveRegion } from './config.js';
export {
  Ec2,
  INSTANCE_IDS_PER_CALL,
  type InstanceLaunchTemplate,
  instanceLaunchTemplate,
  instanceTag,
  launchTemplateTag,
} from './ec2.js';
export { Eks } from './eks.js';
export {
  type AwsErrorClass,
  awsErrorCode,
  classifyAwsError,
  isAccessDenied,
  isAlreadyExists,
  isNotFound,
  isRetryable,
  isThrottled,
} from './errors.js';
export { type InstrumentableClient, instrumentClient, operationName } from './instrument.js';
export { AwsMetrics, type CallResult } from './metrics.js';
export { backoffDelay, type RetryOptions, retryStrategy } from './retry.js';
export { type StreamUploadOptions, uploadStream } from './s3.js';
export { type AmiFamily, type Architecture, eksAmiParameter, eksOptimizedAmiId } from './ssm.js';
export { DEFAULT_TTL_MS } from './ttl.js';
