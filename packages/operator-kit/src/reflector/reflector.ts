/**
 * A reflector keeps a {@link Store} in step with the API server: a paged list, then a watch with
 * bookmarks from the list's resourceVersion; a 410 Gone (the version was compacted) relists; any other
 * failure reconnects after a jittered, growing delay, forever, until stopped. A watch that stays silent
 * longer than the server timeout plus a margin is treated as dead (half-open TCP) and reopened.
 *
 * On relist, objects that vanished while the watch was down are reported as deletions and objects that
 * changed as updates, so handlers never miss a change, only intermediate states (level-based).
 *
 * Handlers receive the old and the new object on update; they must be cheap and must not throw
 * (a throwing handler is logged and ignored, never fatal).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient } from '../client/client.js';
import { withTypeMeta } from '../client/client.js';
import { isGone } from '../client/errors.js';
import { type KubeObject, keyOf } from '../client/object.js';
import type { Resource } from '../client/resource.js';
import { errorMessage, type Logger, silentLogger } from '../log.js';
import { JitteredBackoff } from '../queue/backoff.js';
import { Store } from './store.js';

export interface ReflectorHandler<T extends KubeObject> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface ReflectorOptions<T extends KubeObject> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** List page size; default 500. */
  pageSize?: number;
  /** Server-side watch timeout; default 290 s (like kube-rs); the watch is then reopened from the last version. */
  watchTimeoutSeconds?: number;
  /** Extra client-side idle margin over the server timeout; default 5 s. */
  idleMarginMs?: number;
  /** Applied to every object before it is cached; default strips `metadata.managedFields`. */
  transform?: (obj: T) => T;
  backoff?: JitteredBackoff;
  logger?: Logger;
}

export interface ReflectorStats {
  lists: number;
  relistsAfterGone: number;
  watchesOpened: number;
  watchErrors: number;
  events: number;
}

export function stripManagedFields<T extends KubeObject>(obj: T): T {
  if (!obj.metadata.managedFields) return obj;
  const { managedFields: _, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

export class Reflector<T extends KubeObject = KubeObject> {
  readonly store = new Store<T>();
  readonly stats: ReflectorStats = {
    lists: 0,
    relistsAfterGone: 0,
    watchesOpened: 0,
    watchErrors: 0,
    events: 0,
  };
  private readonly handlers: ReflectorHandler<T>[] = [];
  private readonly abort = new AbortController();
  private readonly backoff: JitteredBackoff;
  private readonly log: Logger;
  private readonly transform: (obj: T) => T;
  private resourceVersion: string | undefined;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private loop: Promise<void> | undefined;
  /** Time of the last event or bookmark received (ms since epoch). */
  lastEventAt = 0;

  constructor(
    private readonly client: KubeClient,
    readonly resource: Resource,
    private readonly options: ReflectorOptions<T> = {},
  ) {
    this.backoff = options.backoff ?? new JitteredBackoff();
    this.log = (options.logger ?? silentLogger()).child({ reflector: resource.plural });
    this.transform = options.transform ?? stripManagedFields;
  }

  /** True once the first list has been stored (and stays true across relists). */
  get hasSynced(): boolean {
    return this.synced;
  }

  addHandler(handler: ReflectorHandler<T>): void {
    this.handlers.push(handler);
    // A late handler still sees every cached object once.
    if (this.synced) for (const obj of this.store.list()) this.emit('add', handler, obj);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    for (const w of this.syncWaiters) w();
    this.syncWaiters = [];
  }

  /** Resolves when the first list is in the store (or the reflector stopped). */
  waitForSync(): Promise<void> {
    if (this.synced || this.abort.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        if (this.resourceVersion === undefined) await this.relist();
        await this.watch();
        // The server closed the watch at its timeout: reopen at once from the last version.
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          this.log.info({ resourceVersion: this.resourceVersion }, 'resource version expired, relisting');
          this.resourceVersion = undefined;
          this.stats.relistsAfterGone++;
          continue;
        }
        this.stats.watchErrors++;
        const delay = this.backoff.next();
        this.log.warn({ err: errorMessage(err), retryInMs: delay }, 'list/watch failed, retrying');
        try {
          await sleep(delay, undefined, { signal });
        } catch {
          break;
        }
      }
    }
  }

  private async relist(): Promise<void> {
    const list = await this.client.list<T>(this.resource, {
      namespace: this.options.namespace,
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      limit: this.options.pageSize ?? 500,
    });
    this.stats.lists++;
    const seen = new Set<string>();
    for (const raw of list.items) {
      const obj = this.transform(raw);
      const key = keyOf(obj);
      seen.add(key);
      this.apply(obj);
    }
    for (const key of [...this.store.keys()]) {
      if (!seen.has(key)) {
        const gone = this.store.remove(key);
        if (gone) this.emitAll('delete', gone);
      }
    }
    this.resourceVersion = list.metadata.resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters) w();
      this.syncWaiters = [];
      this.log.debug({ objects: this.store.size }, 'initial list stored');
    }
  }

  private apply(obj: T): void {
    const old = this.store.upsert(obj);
    if (!old) this.emitAll('add', obj);
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emitAll('update', obj, old);
  }

  private async watch(): Promise<void> {
    const timeoutSeconds = this.options.watchTimeoutSeconds ?? 290;
    const stream = this.client.watch<T>(this.resource, {
      namespace: this.options.namespace,
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      resourceVersion: this.resourceVersion,
      timeoutSeconds,
      idleTimeoutMs: timeoutSeconds * 1000 + (this.options.idleMarginMs ?? 5_000),
      signal: this.abort.signal,
    });
    this.stats.watchesOpened++;
    this.backoff.healthy();
    for await (const event of stream) {
      this.lastEventAt = Date.now();
      if (event.type === 'ERROR') {
        const status = event.object as unknown as { code?: number; message?: string };
        if (status.code === 410) {
          this.log.info({ message: status.message }, 'watch expired (410), relisting');
          this.resourceVersion = undefined;
          this.stats.relistsAfterGone++;
          return;
        }
        throw new Error(`watch error ${status.code}: ${status.message}`);
      }
      this.stats.events++;
      const rv = event.object.metadata.resourceVersion;
      if (event.type === 'BOOKMARK') {
        this.resourceVersion = rv;
        continue;
      }
      const obj = this.transform(withTypeMeta(this.resource, event.object));
      if (event.type === 'DELETED') {
        const old = this.store.remove(keyOf(obj));
        this.emitAll('delete', old ?? obj);
      } else {
        this.apply(obj);
      }
      this.resourceVersion = rv;
    }
  }

  private emitAll(kind: 'add' | 'delete', obj: T): void;
  private emitAll(kind: 'update', obj: T, old: T): void;
  private emitAll(kind: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    for (const h of this.handlers) this.emit(kind, h, obj, old);
  }

  private emit(kind: 'add' | 'update' | 'delete', h: ReflectorHandler<T>, obj: T, old?: T): void {
    try {
      if (kind === 'add') h.add?.(obj);
      else if (kind === 'update') h.update?.(old as T, obj);
      else h.delete?.(obj);
    } catch (err) {
      this.log.error({ err: errorMessage(err), event: kind }, 'event handler threw; ignored');
    }
  }
}
