/**
 * A small typed client over {@link Transport}: CRUD, server-side apply, status writes and watches for any
 * {@link Resource}. One field manager per controller: every apply names it, so ownership of fields is
 * visible in `managedFields` and two controllers never fight silently.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { isNotFound } from './errors.js';
import type { KubeObject, ObjectList } from './object.js';
import { apiVersionOf, collectionPath, objectPath, type Resource } from './resource.js';
import { Transport } from './transport.js';

export type PatchType = 'merge' | 'json' | 'strategic';
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size; default 500. */
  limit?: number;
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  /** Server-side timeout; the server ends the watch cleanly after it. */
  timeoutSeconds: number;
  /** Client-side idle timeout: no byte (not even a bookmark) for this long means a dead connection. */
  idleTimeoutMs: number;
  signal?: AbortSignal;
}

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  path: string;
  value?: unknown;
}

export class KubeClient {
  constructor(
    readonly transport: Transport,
    /** The field manager for server-side apply (one per controller). */
    readonly fieldManager: string,
  ) {}

  static async fromKubeConfig(kc: KubeConfig, fieldManager: string): Promise<KubeClient> {
    return new KubeClient(await Transport.fromKubeConfig(kc), fieldManager);
  }

  /** The same connection, with another field manager. */
  withFieldManager(fieldManager: string): KubeClient {
    return new KubeClient(this.transport, fieldManager);
  }

  get<T extends KubeObject>(r: Resource, name: string, namespace?: string): Promise<T> {
    return this.transport.request<T>('GET', objectPath(r, name, namespace));
  }

  /** Like {@link get}, but `undefined` when the object does not exist. */
  async getOrUndefined<T extends KubeObject>(
    r: Resource,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(r, name, namespace);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** One page. */
  listPage<T extends KubeObject>(
    r: Resource,
    options: ListOptions & { continue?: string; resourceVersion?: string } = {},
  ): Promise<ObjectList<T>> {
    return this.transport.request<ObjectList<T>>('GET', collectionPath(r, options.namespace), {
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit ?? 500,
        continue: options.continue,
        resourceVersion: options.resourceVersion,
      },
    });
  }

  /** Every page; the returned list carries the resourceVersion of the first page's snapshot. */
  async list<T extends KubeObject>(r: Resource, options: ListOptions = {}): Promise<ObjectList<T>> {
    const items: T[] = [];
    let page = await this.listPage<T>(r, options);
    const resourceVersion = page.metadata.resourceVersion;
    items.push(...page.items);
    while (page.metadata.continue) {
      page = await this.listPage<T>(r, { ...options, continue: page.metadata.continue });
      items.push(...page.items);
    }
    return { metadata: { resourceVersion }, items: items.map((o) => withTypeMeta(r, o)) };
  }

  create<T extends KubeObject>(r: Resource, obj: T): Promise<T> {
    return this.transport.request<T>('POST', collectionPath(r, obj.metadata.namespace), {
      body: withTypeMeta(r, obj),
      query: { fieldManager: this.fieldManager },
    });
  }

  /** PUT: fails with a ConflictError when `obj.metadata.resourceVersion` is stale. */
  update<T extends KubeObject>(r: Resource, obj: T, subresource?: 'status'): Promise<T> {
    return this.transport.request<T>('PUT', objectPath(r, nameOf(obj), obj.metadata.namespace, subresource), {
      body: withTypeMeta(r, obj),
      query: { fieldManager: this.fieldManager },
    });
  }

  /**
   * Server-side apply: `obj` states the fields this controller owns. `force` takes fields over from
   * other managers (controllers normally do, for the fields they own by design).
   */
  apply<T extends KubeObject>(
    r: Resource,
    obj: T,
    options: { force?: boolean; subresource?: 'status' } = {},
  ) {
    return this.transport.request<T>(
      'PATCH',
      objectPath(r, nameOf(obj), obj.metadata.namespace, options.subresource),
      {
        body: withTypeMeta(r, obj),
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: this.fieldManager, force: options.force ?? true },
      },
    );
  }

  /** Server-side apply on the status subresource: `obj` carries `metadata.name`/`namespace` and `status`. */
  applyStatus<T extends KubeObject>(r: Resource, obj: T): Promise<T> {
    return this.apply(r, obj, { force: true, subresource: 'status' });
  }

  patch<T extends KubeObject>(
    r: Resource,
    name: string,
    namespace: string | undefined,
    patch: unknown,
    type: PatchType = 'merge',
    subresource?: 'status',
  ): Promise<T> {
    return this.transport.request<T>('PATCH', objectPath(r, name, namespace, subresource), {
      body: patch,
      contentType: PATCH_CONTENT_TYPES[type],
      query: { fieldManager: this.fieldManager },
    });
  }

  /** Deletes; resolves to false when the object was already gone. */
  async delete(
    r: Resource,
    name: string,
    namespace?: string,
    options: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'; uid?: string } = {},
  ): Promise<boolean> {
    try {
      await this.transport.request('DELETE', objectPath(r, name, namespace), {
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          propagationPolicy: options.propagationPolicy ?? 'Background',
          ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
        },
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  watch<T extends KubeObject>(r: Resource, options: WatchOptions): AsyncGenerator<WatchEvent<T>> {
    return this.transport.stream<WatchEvent<T>>(collectionPath(r, options.namespace), {
      query: {
        watch: true,
        allowWatchBookmarks: true,
        resourceVersion: options.resourceVersion,
        timeoutSeconds: options.timeoutSeconds,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
      },
      idleTimeoutMs: options.idleTimeoutMs,
      signal: options.signal,
    });
  }
}

function nameOf(obj: KubeObject): string {
  if (!obj.metadata.name) throw new Error('object has no metadata.name');
  return obj.metadata.name;
}

/** Lists return items without apiVersion/kind; put them back so cached objects are self-describing. */
export function withTypeMeta<T extends KubeObject>(r: Resource, obj: T): T {
  if (obj.apiVersion && obj.kind) return obj;
  return { ...obj, apiVersion: apiVersionOf(r), kind: r.kind };
}
