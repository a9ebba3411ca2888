/**
 * AWS calls per reconcile: an SDK middleware (installed through AwsClients' `customize`) counts every
 * call made inside {@link countingAwsCalls}, which the reconciler wraps around each reconcile. The
 * count follows the async context, so concurrent reconciles do not mix. Cache hits are not calls.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { InstrumentableClient, ServiceName } from '@keiko/aws-kit';

const current = new AsyncLocalStorage<{ calls: number }>();

/** Pass as (or call from) `AwsClients.create({ customize })`. */
export function countAwsCalls(client: InstrumentableClient, _service: ServiceName): void {
  client.middlewareStack.add(
    // biome-ignore lint/suspicious/noExplicitAny: SDK middleware signature
    (next: any) => async (args: any) => {
      const store = current.getStore();
      if (store) store.calls++;
      return next(args);
    },
    { step: 'initialize', name: 'keikoAwsCallsPerReconcile' },
  );
}

/** Runs `fn` and reports how many AWS calls it made (needs {@link countAwsCalls} on the clients). */
export async function countingAwsCalls<T>(fn: () => Promise<T>, report: (calls: number) => void): Promise<T> {
  const store = { calls: 0 };
  try {
    return await current.run(store, fn);
  } finally {
    report(store.calls);
  }
}
