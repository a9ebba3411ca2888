/**
 * Spec change detection: a stable hash of the canonical spec.
 *
 * Canonical JSON (object keys sorted at every level, `undefined` dropped) hashed with SHA-256, so the
 * hash depends only on the spec's content: not on key order, formatting or the process that
 * computes it. The first 16 hex characters are kept (64 bits: collisions are not a practical
 * concern for one addon's history).
 *
 * Upstream wrote an Adler-32 of Go's `%+v` rendering (at most 8 hex characters), which cannot be
 * reproduced here. {@link isUpstreamChecksum} recognises one, so the reconciler can adopt it instead
 * of re-running every addon when a cluster migrates.
 */
import { createHash } from 'node:crypto';

export const SPEC_HASH_LENGTH = 16;

/** JSON with object keys sorted recursively; arrays keep their order (it is meaningful). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The spec hash stored in `status.checksum`. */
export function specHash(spec: unknown): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, SPEC_HASH_LENGTH);
}

/** True for a checksum upstream's controller wrote (Adler-32 in hex: 1 to 8 characters). */
export function isUpstreamChecksum(checksum: string | undefined): checksum is string {
  return checksum !== undefined && /^[0-9a-f]{1,8}$/.test(checksum);
}

/** A short hash of any string (names, tokens), hex. */
export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}
