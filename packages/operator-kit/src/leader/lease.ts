/**
 * Leader election on a coordination.k8s.io/v1 Lease, with controller-runtime's timing: a lease lasts
 * 15 s, the leader renews every 2 s and gives up leadership if it could not renew for 10 s; candidates
 * retry every 2 s. Writes are optimistic (resourceVersion), so two candidates can never both win.
 * {@link LeaderElector.release} empties the holder so a successor takes over at once after a graceful
 * shutdown, instead of waiting for the lease to expire.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient } from '../client/client.js';
import { isAlreadyExists, isConflict, isNotFound } from '../client/errors.js';
import type { KubeObject } from '../client/object.js';
import { CoreResources } from '../client/resource.js';
import { microTime } from '../events/recorder.js';
import { errorMessage, type Logger, silentLogger } from '../log.js';

export interface LeaderElectionOptions {
  /** Lease name, e.g. `upgrade-manager-leader`. */
  name: string;
  namespace: string;
  /** Unique per process: pod name plus a random suffix. */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger?: Logger;
  onLeadershipChange?: (leading: boolean) => void;
}

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

export class LeaderElector {
  private leading = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private lastRenew = 0;
  private lease: Lease | undefined;
  private readonly log: Logger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  /** When we first saw the current holder's record unchanged (local clock, as client-go does). */
  private observed: { record: string; at: number } | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
  ) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.log = (options.logger ?? silentLogger()).child({ lease: `${options.namespace}/${options.name}` });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts campaigning; resolves once this process leads (or the elector was stopped). */
  async acquire(): Promise<boolean> {
    this.loop ??= this.run();
    while (!this.leading && !this.abort.signal.aborted) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.leading;
  }

  /** Stops campaigning/renewing and, if leading, releases the lease at once. */
  async release(): Promise<void> {
    this.abort.abort();
    await this.loop;
    if (this.leading && this.lease) {
      try {
        await this.client.update(CoreResources.leases, {
          ...this.lease,
          spec: {
            ...this.lease.spec,
            holderIdentity: null,
            leaseDurationSeconds: 1,
            acquireTime: null,
            renewTime: null,
          },
        });
        this.log.info('lease released');
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'could not release lease');
      }
    }
    this.setLeading(false);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.log.info(
      { identity: this.options.identity, leading },
      leading ? 'became leader' : 'lost leadership',
    );
    this.options.onLeadershipChange?.(leading);
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        this.log.debug({ err: errorMessage(err) }, 'lease attempt failed');
      }
      const now = Date.now();
      if (ok) this.lastRenew = now;
      if (this.leading && !ok && now - this.lastRenew > this.renewDeadlineMs) this.setLeading(false);
      else if (ok) this.setLeading(true);
      try {
        await sleep(this.retryPeriodMs, undefined, { signal });
      } catch {
        return;
      }
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { name, namespace, identity } = this.options;
    const now = new Date();
    const spec = (transitions: number, acquireTime: string) => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime,
      renewTime: microTime(now),
      leaseTransitions: transitions,
    });
    let lease: Lease;
    try {
      lease = await this.client.get<Lease>(CoreResources.leases, name, namespace);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        this.lease = await this.client.create<Lease>(CoreResources.leases, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: spec(0, microTime(now)),
        });
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw e;
      }
    }
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder && holder !== identity) {
      // Someone else holds it: only take over once its record stopped changing for a lease duration,
      // measured on our own clock (clock skew between nodes does not matter).
      const record = `${holder}|${lease.spec?.renewTime}|${lease.metadata.resourceVersion}`;
      if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
      const durationMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
      if (Date.now() - this.observed.at < durationMs) return false;
    }
    const transitions = (lease.spec?.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    const acquireTime =
      holder === identity && lease.spec?.acquireTime ? lease.spec.acquireTime : microTime(now);
    try {
      this.lease = await this.client.update<Lease>(CoreResources.leases, {
        ...lease,
        spec: spec(transitions, acquireTime),
      });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }
}
