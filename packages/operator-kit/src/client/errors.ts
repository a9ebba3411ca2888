/**
 * Typed API errors. Every non-2xx answer of the API server becomes an {@link ApiError} subclass chosen by
 * its HTTP code, carrying the server's `Status.message` (not the whole body and headers, which is what
 * client-node's `ApiException.message` holds and what makes its errors unreadable in logs).
 */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: { field?: string; message?: string; reason?: string }[] };
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    /** HTTP status code; 0 for transport failures. */
    readonly code: number,
    /** The API server's `Status.reason` (`NotFound`, `Conflict`, `Invalid`...), when it sent one. */
    readonly reason: string | undefined,
    message: string,
    readonly status?: KubeStatus,
  ) {
    super(message);
  }
}
export class NotFoundError extends ApiError {
  override name = 'NotFoundError';
}
export class ConflictError extends ApiError {
  override name = 'ConflictError';
}
export class AlreadyExistsError extends ConflictError {
  override name = 'AlreadyExistsError';
}
export class ForbiddenError extends ApiError {
  override name = 'ForbiddenError';
}
export class InvalidError extends ApiError {
  override name = 'InvalidError';
}
/** 410: the resourceVersion asked for has been compacted away; relist. */
export class GoneError extends ApiError {
  override name = 'GoneError';
}
export class TooManyRequestsError extends ApiError {
  override name = 'TooManyRequestsError';
}

/** Builds the right subclass from a response code and body. */
export function apiErrorFrom(code: number, body: string, method: string, path: string): ApiError {
  let status: KubeStatus | undefined;
  try {
    status = JSON.parse(body) as KubeStatus;
  } catch {
    status = undefined;
  }
  const message = `${method} ${path}: ${code} ${status?.message ?? body.slice(0, 500)}`;
  const reason = status?.reason;
  switch (code) {
    case 404:
      return new NotFoundError(code, reason, message, status);
    case 409:
      return reason === 'AlreadyExists'
        ? new AlreadyExistsError(code, reason, message, status)
        : new ConflictError(code, reason, message, status);
    case 403:
      return new ForbiddenError(code, reason, message, status);
    case 422:
      return new InvalidError(code, reason, message, status);
    case 410:
      return new GoneError(code, reason, message, status);
    case 429:
      return new TooManyRequestsError(code, reason, message, status);
    default:
      return new ApiError(code, reason, message, status);
  }
}

export const isNotFound = (e: unknown): e is NotFoundError => e instanceof NotFoundError;
export const isConflict = (e: unknown): e is ConflictError => e instanceof ConflictError;
export const isAlreadyExists = (e: unknown): e is AlreadyExistsError => e instanceof AlreadyExistsError;
export const isGone = (e: unknown): e is GoneError => e instanceof GoneError;
