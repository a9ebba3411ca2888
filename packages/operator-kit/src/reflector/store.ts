/**
 * The in-memory cache a reflector fills: objects by `namespace/name`, plus named indexes (for example
 * pods by node name, or objects by owner UID) kept up to date on every change.
 *
 * Objects in the store are shared, never copied: treat them as read-only.
 */
import { type KubeObject, keyOf } from '../client/object.js';

/** Maps an object to the index values it should be found under (none: not indexed). */
export type IndexFunc<T extends KubeObject> = (obj: T) => string[];

export class Store<T extends KubeObject = KubeObject> {
  private readonly objects = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name -> index value -> object keys */
  private readonly indexes = new Map<string, Map<string, Set<string>>>();

  get size(): number {
    return this.objects.size;
  }

  /** Adds an index (idempotent by name); objects already stored are indexed at once. */
  addIndex(name: string, fn: IndexFunc<T>): this {
    if (this.indexers.has(name)) return this;
    this.indexers.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.indexes.set(name, index);
    for (const [key, obj] of this.objects) {
      for (const value of fn(obj)) {
        let keys = index.get(value);
        if (!keys) {
          keys = new Set();
          index.set(value, keys);
        }
        keys.add(key);
      }
    }
    return this;
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  getByName(name: string, namespace?: string): T | undefined {
    return this.objects.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): T[] {
    const all = [...this.objects.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  keys(): IterableIterator<string> {
    return this.objects.keys();
  }

  /** Objects whose index `name` contains `value`. */
  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`no index named ${name}`);
    const keys = index.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.objects.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** Inserts or replaces; returns the previous object. */
  upsert(obj: T): T | undefined {
    const key = keyOf(obj);
    const old = this.objects.get(key);
    if (old) this.unindex(key, old);
    this.objects.set(key, obj);
    this.index(key, obj);
    return old;
  }

  /** Removes; returns the removed object. */
  remove(key: string): T | undefined {
    const old = this.objects.get(key);
    if (old) {
      this.unindex(key, old);
      this.objects.delete(key);
    }
    return old;
  }

  private index(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const index = this.indexes.get(name)!;
      for (const value of fn(obj)) {
        let keys = index.get(value);
        if (!keys) {
          keys = new Set();
          index.set(value, keys);
        }
        keys.add(key);
      }
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const index = this.indexes.get(name)!;
      for (const value of fn(obj)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }
}

/** Index by the UIDs of owner references (used for owned-object triggers). */
export const OWNER_UID_INDEX = 'ownerUid';
export const byOwnerUid = <T extends KubeObject>(obj: T): string[] =>
  (obj.metadata.ownerReferences ?? []).map((r) => r.uid);
