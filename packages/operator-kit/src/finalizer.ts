/**
 * Finalizers, added and removed with JSON patches guarded by a `test` operation (as kube-rs does), so
 * a concurrent change to the finalizer list (another controller's finalizer) makes the patch fail and
 * retry instead of overwriting it.
 *
 * {@link withFinalizer} runs the usual flow: while the object lives, make sure the finalizer is on it,
 * then apply; once deletion starts, run cleanup and remove the finalizer only when cleanup succeeded.
 * A cleanup that throws is retried with backoff by the controller; the object stays until it succeeds.
 */
import type { KubeClient } from './client/client.js';
import { ConflictError, InvalidError } from './client/errors.js';
import type { KubeObject } from './client/object.js';
import type { Resource } from './client/resource.js';
import type { Result } from './reconcile.js';

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

export async function addFinalizer<T extends KubeObject>(
  client: KubeClient,
  r: Resource,
  obj: T,
  finalizer: string,
): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  const current = obj.metadata.finalizers;
  const ops = current?.length
    ? [
        { op: 'test', path: '/metadata/finalizers', value: current },
        { op: 'add', path: '/metadata/finalizers/-', value: finalizer },
      ]
    : [
        { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion },
        { op: 'add', path: '/metadata/finalizers', value: [finalizer] },
      ];
  return guardedPatch<T>(client, r, obj, ops);
}

/**
 * A JSON patch whose `test` operation guards it. When the test fails (the object changed since it was
 * read) the API server answers 422 with no field causes; that is a conflict, as a stale
 * resourceVersion is (409), so it is thrown as a {@link ConflictError}: callers re-read and retry
 * quietly instead of treating it as invalid input. A 422 with field causes (validation) stays Invalid.
 */
async function guardedPatch<T extends KubeObject>(
  client: KubeClient,
  r: Resource,
  obj: KubeObject,
  ops: unknown[],
): Promise<T> {
  try {
    return await client.patch<T>(r, obj.metadata.name as string, obj.metadata.namespace, ops, 'json');
  } catch (err) {
    if (err instanceof InvalidError && !err.status?.details?.causes?.length) {
      throw new ConflictError(
        409,
        'Conflict',
        `${err.message} (a JSON patch test failed: ${r.plural} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name} changed since it was read)`,
        err.status,
      );
    }
    throw err;
  }
}

export async function removeFinalizer<T extends KubeObject>(
  client: KubeClient,
  r: Resource,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  const i = obj.metadata.finalizers?.indexOf(finalizer) ?? -1;
  if (i < 0) return obj;
  const ops = [
    { op: 'test', path: `/metadata/finalizers/${i}`, value: finalizer },
    { op: 'remove', path: `/metadata/finalizers/${i}` },
  ];
  return guardedPatch<T>(client, r, obj, ops);
}

export interface FinalizerFlow<T extends KubeObject> {
  /** The object is alive (finalizer present): make the world match it. */
  apply(obj: T): Promise<Result | undefined | void>;
  /** The object is being deleted: undo what `apply` did. Throw to retry. */
  cleanup(obj: T): Promise<void>;
}

export async function withFinalizer<T extends KubeObject>(
  client: KubeClient,
  r: Resource,
  obj: T,
  finalizer: string,
  flow: FinalizerFlow<T>,
): Promise<Result | undefined | void> {
  if (obj.metadata.deletionTimestamp) {
    if (!hasFinalizer(obj, finalizer)) return;
    await flow.cleanup(obj);
    await removeFinalizer(client, r, obj, finalizer);
    return;
  }
  const live = await addFinalizer(client, r, obj, finalizer);
  return flow.apply(live);
}
