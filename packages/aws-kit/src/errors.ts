/**
 * Error classification for AWS SDK v3 errors, so callers branch on what happened rather than on
 * error-code strings scattered through the tools.
 */

export type AwsErrorClass =
  | 'throttled'
  | 'not-found'
  | 'already-exists'
  | 'access-denied'
  | 'retryable'
  | 'invalid'
  | 'unknown';

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded', // EC2
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'SlowDown', // S3
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);

const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation', // EC2
  'UnauthorizedAccess',
  'AuthFailure',
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
  'SignatureDoesNotMatch',
]);

const ALREADY_EXISTS = new Set([
  'AlreadyExists', // AutoScaling
  'AlreadyExistsFault',
  'EntityAlreadyExists', // IAM
  'ResourceInUseException', // EKS
  'ResourceAlreadyExistsException',
  'InvalidLaunchTemplateName.AlreadyExistsException',
  'InvalidGroup.Duplicate',
  'BucketAlreadyOwnedByYou',
  'ParameterAlreadyExists',
]);

const NOT_FOUND = new Set([
  'NoSuchEntity', // IAM
  'NoSuchBucket',
  'NoSuchKey',
  'NotFound',
  'ResourceNotFoundException', // EKS
  'ParameterNotFound',
]);

const RETRYABLE = new Set([
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'ScalingActivityInProgress', // AutoScaling: a conflicting activity, try again later
  'ResourceContention',
  'IDPCommunicationError',
]);

const NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'TimeoutError',
]);

interface SdkErrorLike {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

/** The AWS error code of `err` (`name` for SDK v3 service exceptions). */
export function awsErrorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as SdkErrorLike;
  return e.Code ?? e.code ?? e.name;
}

/**
 * Classifies an error thrown by an AWS SDK v3 call. Codes are matched first; then the HTTP status
 * (429 throttled, 403 access denied, 404 not found, 5xx retryable); then network errors.
 * EC2's `Invalid<Thing>.NotFound` / `.Malformed` codes and AutoScaling's `ValidationError` for a
 * missing group are recognised by shape.
 */
export function classifyAwsError(err: unknown): AwsErrorClass {
  const code = awsErrorCode(err);
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorLike;
  if (code) {
    if (THROTTLING.has(code) || e.$retryable?.throttling) return 'throttled';
    if (ACCESS_DENIED.has(code)) return 'access-denied';
    if (ALREADY_EXISTS.has(code) || code.endsWith('.Duplicate') || code.endsWith('AlreadyExists')) {
      return 'already-exists';
    }
    if (NOT_FOUND.has(code) || code.endsWith('.NotFound') || code.endsWith('NotFoundException'))
      return 'not-found';
    if (RETRYABLE.has(code) || NETWORK.has(code)) return 'retryable';
    // AutoScaling answers a missing group/instance with a generic ValidationError.
    if (code === 'ValidationError' && /not found|does not exist|could not be found/i.test(e.message ?? '')) {
      return 'not-found';
    }
  }
  const status = e.$metadata?.httpStatusCode;
  if (status === 429) return 'throttled';
  if (status === 403) return 'access-denied';
  if (status === 404) return 'not-found';
  if (status !== undefined && status >= 500) return 'retryable';
  if (code && (code.startsWith('Invalid') || code.startsWith('Validation') || code.endsWith('Malformed'))) {
    return 'invalid';
  }
  return 'unknown';
}

export const isThrottled = (err: unknown): boolean => classifyAwsError(err) === 'throttled';
export const isNotFound = (err: unknown): boolean => classifyAwsError(err) === 'not-found';
export const isAlreadyExists = (err: unknown): boolean => classifyAwsError(err) === 'already-exists';
export const isAccessDenied = (err: unknown): boolean => classifyAwsError(err) === 'access-denied';
/** Throttled or transient: worth retrying later. */
export const isRetryable = (err: unknown): boolean => {
  const c = classifyAwsError(err);
  return c === 'throttled' || c === 'retryable';
};
