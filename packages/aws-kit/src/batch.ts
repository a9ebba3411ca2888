/**
 * Batching of keyed reads, for AWS's "describe these names/ids" calls. Keys asked for while no call
 * is in flight go out together on the next microtask; keys asked for while a call is in flight wait
 * for it and then go out together in the next one. Ten reconcile loops that each read their own
 * group at the same moment thus make one or two DescribeAutoScalingGroups calls instead of ten: the
 * account's API rate (shared by everything in it, and where throttling starts) is spared, and the
 * answers come sooner from a service that queues requests.
 *
 * Every key is read by a call that starts after it was asked for, so a read after a write never gets
 * a pre-write answer through batching. A failed call fails every key it carried (the SDK has retried
 * it already), unless `loadMany` answers per key ({@link KeyError}); nothing is cached here (callers
 * cache per key, see TtlCache).
 */

/** A value `loadMany` gives for a key whose own read failed: that key's callers get `error`. */
export class KeyError {
  constructor(readonly error: unknown) {}
}

export interface KeyBatcherOptions {
  /** Keys per call (the API's limit, or smaller pages that answer sooner). */
  maxKeys: number;
  /** Calls in flight at once; default 1. */
  maxInFlight?: number;
}

interface Waiter<V> {
  resolve: (value: V | undefined) => void;
  reject: (err: unknown) => void;
}

export class KeyBatcher<V> {
  private readonly pending = new Map<string, Waiter<V>[]>();
  private inFlight = 0;
  private scheduled = false;
  /** Calls made, and keys they carried (for tests and metrics). */
  readonly stats = { calls: 0, keys: 0 };

  constructor(
    /**
     * Reads the keys; a key absent from the answer is undefined to its callers, a {@link KeyError}
     * fails that key only.
     */
    private readonly loadMany: (keys: string[]) => Promise<ReadonlyMap<string, V | KeyError>>,
    private readonly options: KeyBatcherOptions,
  ) {}

  load(key: string): Promise<V | undefined> {
    return new Promise<V | undefined>((resolve, reject) => {
      const waiters = this.pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.pending.size === 0 || this.inFlight >= (this.options.maxInFlight ?? 1)) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const maxInFlight = this.options.maxInFlight ?? 1;
    while (this.pending.size > 0 && this.inFlight < maxInFlight) {
      const batch = new Map<string, Waiter<V>[]>();
      for (const [key, waiters] of this.pending) {
        if (batch.size >= this.options.maxKeys) break;
        batch.set(key, waiters);
      }
      for (const key of batch.keys()) this.pending.delete(key);
      this.inFlight++;
      this.stats.calls++;
      this.stats.keys += batch.size;
      let call: Promise<ReadonlyMap<string, V | KeyError>>;
      try {
        call = this.loadMany([...batch.keys()]);
      } catch (err) {
        call = Promise.reject(err);
      }
      call
        .then(
          (found) => {
            for (const [key, waiters] of batch) {
              const value = found.get(key);
              for (const w of waiters) {
                if (value instanceof KeyError) w.reject(value.error);
                else w.resolve(value);
              }
            }
          },
          (err: unknown) => {
            for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
          },
        )
        .finally(() => {
          this.inFlight--;
          this.schedule();
        });
    }
  }
}
