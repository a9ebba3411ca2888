/**
 * Predicates filter update events before they enqueue anything. Adds and deletes always pass: a
 * predicate that hid a deletion would leave finalizers and children behind.
 */
import type { KubeObject } from './client/object.js';

export type UpdatePredicate<T extends KubeObject = KubeObject> = (oldObj: T, newObj: T) => boolean;

/**
 * Passes only when `metadata.generation` changed, i.e. the spec changed. Caveat (also controller-runtime's):
 * status-only writes are ignored, so a wiped status is not self-healed until the next spec change or
 * periodic requeue; objects without generation (most built-in kinds' status) always pass.
 */
export const generationChanged: UpdatePredicate = (o, n) =>
  o.metadata.generation === undefined || o.metadata.generation !== n.metadata.generation;

export const labelsChanged: UpdatePredicate = (o, n) => !shallowEqual(o.metadata.labels, n.metadata.labels);

export const annotationsChanged: UpdatePredicate = (o, n) =>
  !shallowEqual(o.metadata.annotations, n.metadata.annotations);

/** Deletion started (deletionTimestamp set) or finalizers changed: finalizer logic must run. */
export const deletionOrFinalizersChanged: UpdatePredicate = (o, n) =>
  o.metadata.deletionTimestamp !== n.metadata.deletionTimestamp ||
  !arrayEqual(o.metadata.finalizers, n.metadata.finalizers);

/** Passes when any of the predicates passes. */
export function any<T extends KubeObject>(...ps: UpdatePredicate<T>[]): UpdatePredicate<T> {
  return (o, n) => ps.some((p) => p(o, n));
}

function shallowEqual(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ak = Object.keys(a ?? {});
  const bk = Object.keys(b ?? {});
  return ak.length === bk.length && ak.every((k) => a?.[k] === b?.[k]);
}

function arrayEqual(a: string[] | undefined, b: string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
