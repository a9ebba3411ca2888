/**
 * Where a capture goes: `spec.destination` (`s3://bucket[/prefix]`) and `spec.subpath` give the key
 * prefix, and the capture directory is `<prefix>/<subpath>/<epoch>_<namespace>_<pod>/` as upstream laid
 * it out. The epoch is the PodCheckpoint's creation time, so the directory is the same whichever
 * controller process computes it (a restart never splits one capture over two directories).
 */
import { DEFAULT_SUBPATH, DESTINATION_PATTERN, type PodCheckpointSpec } from '../api/podcheckpoint.js';

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slash; may be empty. */
  prefix: string;
}

const destinationRe = new RegExp(DESTINATION_PATTERN);

/** Parses `s3://bucket[/prefix]`; undefined when it is not one (the CRD rejects those at admission). */
export function parseDestination(uri: string): S3Location | undefined {
  if (!destinationRe.test(uri)) return undefined;
  const rest = uri.slice('s3://'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return { bucket: rest, prefix: '' };
  return { bucket: rest.slice(0, slash), prefix: trimSlashes(rest.slice(slash + 1)) };
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, '').replace(/\/{2,}/g, '/');
}

/** Joins key segments, dropping empty ones and duplicate slashes. */
export function joinKey(...parts: string[]): string {
  return parts.map(trimSlashes).filter(Boolean).join('/');
}

/** The capture directory of a request: bucket and key prefix (no trailing slash). */
export function captureLocation(
  spec: PodCheckpointSpec,
  targetNamespace: string,
  createdAt: string | Date,
): S3Location | undefined {
  const dest = parseDestination(spec.destination);
  if (!dest) return undefined;
  const epoch = Math.floor(new Date(createdAt).getTime() / 1000);
  const dir = `${epoch}_${targetNamespace}_${spec.pod}`;
  return { bucket: dest.bucket, prefix: joinKey(dest.prefix, spec.subpath ?? DEFAULT_SUBPATH, dir) };
}

/** `s3://bucket/key` */
export function s3Uri(location: S3Location): string {
  return `s3://${location.bucket}/${location.prefix}`;
}

/**
 * Whether the bucket may receive captures: with an allow-list (the `--allowed-buckets` flag), only the
 * buckets it names; entries may end with `*` to allow a name prefix. Without one, every bucket.
 */
export function bucketAllowed(bucket: string, allowList: readonly string[]): boolean {
  if (allowList.length === 0) return true;
  return allowList.some((entry) =>
    entry.endsWith('*') ? bucket.startsWith(entry.slice(0, -1)) : bucket === entry,
  );
}
