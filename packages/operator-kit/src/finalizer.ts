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
  return client.patch<T>(r, obj.metadata.name as string, obj.metadata.namespace, ops, 'json');
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
  return client.patch<T>(r, obj.metadata.name as string, obj.metadata.namespace, ops, 'json');
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
