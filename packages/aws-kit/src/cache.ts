/**
 * A TTL cache with request coalescing for AWS reads.
 *
 * - Identical reads in flight share one call: the second caller joins the first's promise.
 * - A successful answer is kept for the TTL given per call (ASGs and launch templates seconds,
 *   instance types hours); a failure is never kept. A caller's TTL also bounds the age of a stored
 *   answer it accepts: `{ ttlMs: 0 }` always calls AWS (or joins a call already in flight), even
 *   when another caller stored an answer with a longer TTL.
 * - Every entry carries resource tags (e.g. `asg:my-group`); a write invalidates the tags it
 *   touched, and an answer still in flight when its tags are invalidated is returned to the callers
 *   that were already waiting but not stored, so no later reader sees the pre-write state.
 *
 * The clock is injectable so tests of expiry need no real waiting.
 */

export interface CacheLookup {
  /**
   * Milliseconds the answer stays fresh, and the oldest stored answer this caller accepts. 0 coalesces
   * concurrent calls but neither keeps nor serves a stored answer.
   */
  ttlMs: number;
  /** Resource tags that writes invalidate. */
  tags: readonly string[];
}

export type CacheOutcome = 'hit' | 'coalesced' | 'miss';

interface Entry {
  promise: Promise<unknown>;
  /** undefined while the call is in flight. */
  expiresAt: number | undefined;
  /** When the answer arrived; undefined while the call is in flight. */
  storedAt: number | undefined;
  tags: readonly string[];
}

export class TtlCache {
  private readonly entries = new Map<string, Entry>();
  private readonly byTag = new Map<string, Set<string>>();

  constructor(
    private readonly now: () => number = Date.now,
    /** Upper bound on stored answers; the oldest is dropped first. */
    private readonly maxEntries = 10_000,
  ) {}

  /** The cached or in-flight answer for `key`, or the result of `load()` (then cached). */
  async get<T>(
    key: string,
    lookup: CacheLookup,
    load: () => Promise<T>,
    observe?: (outcome: CacheOutcome) => void,
  ): Promise<T> {
    const existing = this.entries.get(key);
    if (existing) {
      if (existing.expiresAt === undefined) {
        observe?.('coalesced');
        return existing.promise as Promise<T>;
      }
      const now = this.now();
      if (existing.expiresAt > now && now - (existing.storedAt ?? now) < lookup.ttlMs) {
        observe?.('hit');
        return existing.promise as Promise<T>;
      }
      this.remove(key);
    }
    observe?.('miss');
    const promise = load();
    const entry: Entry = { promise, expiresAt: undefined, storedAt: undefined, tags: lookup.tags };
    this.store(key, entry);
    try {
      const value = await promise;
      // Still ours (not invalidated or replaced meanwhile)? Then it may be served until the TTL ends.
      if (this.entries.get(key) === entry) {
        if (lookup.ttlMs > 0) {
          entry.storedAt = this.now();
          entry.expiresAt = entry.storedAt + lookup.ttlMs;
        } else this.remove(key);
      }
      return value;
    } catch (err) {
      if (this.entries.get(key) === entry) this.remove(key);
      throw err;
    }
  }

  /** Drops every entry carrying any of `tags`. */
  invalidate(...tags: string[]): void {
    for (const tag of tags) {
      for (const key of this.byTag.get(tag) ?? []) this.remove(key);
    }
  }

  clear(): void {
    this.entries.clear();
    this.byTag.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private store(key: string, entry: Entry): void {
    this.remove(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.remove(oldest);
    }
    this.entries.set(key, entry);
    for (const tag of entry.tags) {
      const keys = this.byTag.get(tag) ?? new Set<string>();
      keys.add(key);
      this.byTag.set(tag, keys);
    }
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    for (const tag of entry.tags) {
      const keys = this.byTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.byTag.delete(tag);
    }
  }
}

/** A stable cache key for an operation and its input (object keys sorted). */
export function cacheKey(service: string, operation: string, input: unknown): string {
  return `${service}:${operation}:${stableStringify(input)}`;
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
