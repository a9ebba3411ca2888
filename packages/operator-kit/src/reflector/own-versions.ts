/**
 * A guard against acting on a cache older than this process's own last write. An informer delivers a
 * write some milliseconds after the API server accepted it; a pass started in between (by another
 * object's event or a timer) would plan from the older copy and could write stale progress back.
 *
 * Record the resourceVersion of every object this process writes or reads live ({@link remember});
 * {@link current} then returns the cached copy when it is exactly that version, else a live GET
 * (which it records). A cached copy of an unknown version (first sight, or someone else wrote) is
 * read live once, so a pass never plans from a version it cannot vouch for.
 */
import type { KubeClient } from '../client/client.js';
import type { KubeObject } from '../client/object.js';
import type { Resource } from '../client/resource.js';

export class OwnVersions {
  /** key -> resourceVersion this process last wrote or read from the API server. */
  private readonly versions = new Map<string, string>();

  /** Records the version of an object just written or read live. */
  remember(key: string, objectOrVersion: KubeObject | string | undefined): void {
    const rv =
      typeof objectOrVersion === 'string' ? objectOrVersion : objectOrVersion?.metadata.resourceVersion;
    if (rv) this.versions.set(key, rv);
  }

  forget(key: string): void {
    this.versions.delete(key);
  }

  /** The version last recorded for `key`, if any. */
  version(key: string): string | undefined {
    return this.versions.get(key);
  }

  /**
   * The object to act on: `cached` when it is the version last recorded for `key`, else the live
   * object (undefined when it is gone; then the key is forgotten).
   */
  async current<T extends KubeObject>(
    client: KubeClient,
    resource: Resource,
    key: string,
    cached: T,
  ): Promise<T | undefined> {
    const rv = cached.metadata.resourceVersion;
    if (rv !== undefined && this.versions.get(key) === rv) return cached;
    const live = await client.getOrUndefined<T>(resource, cached.metadata.name!, cached.metadata.namespace);
    if (live) this.remember(key, live);
    else this.forget(key);
    return live;
  }
}
