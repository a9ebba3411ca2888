/**
 * A coordination.k8s.io Lease held for the length of a run, so two overlapping runs (a manual run and
 * the CronJob, or two clusters' CronJobs sharing a kubeconfig) never act at once. CronJob
 * `concurrencyPolicy: Forbid` does not cover manual or local-mode runs.
 *
 * The lease is taken with a resourceVersion-guarded update (or a create), renewed every third of its
 * duration, and released at the end; a holder that died is taken over once its lease has expired.
 */
import {
  isAlreadyExists,
  isConflict,
  isNotFound,
  type KubeClient,
  type KubeObject,
} from '@keiko/operator-kit';
import { Resources } from '../kube.js';

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
  };
}

const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class RunLock {
  private timer: NodeJS.Timeout | undefined;
  private lease: Lease | undefined;

  constructor(
    private readonly client: KubeClient,
    readonly namespace: string,
    readonly name: string,
    readonly identity: string,
    readonly durationSeconds: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Takes the lease; resolves to the current holder's identity when someone else holds it. */
  async acquire(): Promise<{ acquired: true } | { acquired: false; holder: string }> {
    const now = this.now();
    const spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.durationSeconds,
      acquireTime: microTime(now),
      renewTime: microTime(now),
    };
    const existing = await this.client.getOrUndefined<Lease>(Resources.leases, this.name, this.namespace);
    try {
      if (!existing) {
        this.lease = await this.client.create<Lease>(Resources.leases, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.name, namespace: this.namespace },
          spec,
        });
      } else {
        const holder = existing.spec?.holderIdentity;
        const renewed = Date.parse(existing.spec?.renewTime ?? '') || 0;
        const expires = renewed + (existing.spec?.leaseDurationSeconds ?? 0) * 1000;
        if (holder && holder !== this.identity && expires > now.getTime()) return { acquired: false, holder };
        this.lease = await this.client.update<Lease>(Resources.leases, { ...existing, spec });
      }
    } catch (err) {
      if (isConflict(err) || isAlreadyExists(err)) {
        const current = await this.client.getOrUndefined<Lease>(Resources.leases, this.name, this.namespace);
        return { acquired: false, holder: current?.spec?.holderIdentity ?? 'unknown' };
      }
      throw err;
    }
    this.timer = setInterval(() => void this.renew().catch(() => {}), (this.durationSeconds * 1000) / 3);
    this.timer.unref();
    return { acquired: true };
  }

  private async renew(): Promise<void> {
    if (!this.lease) return;
    this.lease = await this.client.update<Lease>(Resources.leases, {
      ...this.lease,
      spec: { ...this.lease.spec, renewTime: microTime(this.now()) },
    });
  }

  /** Gives the lease up (holder cleared), so the next run need not wait for it to expire. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    if (!this.lease) return;
    try {
      const current = await this.client.get<Lease>(Resources.leases, this.name, this.namespace);
      if (current.spec?.holderIdentity === this.identity) {
        await this.client.update<Lease>(Resources.leases, {
          ...current,
          spec: { ...current.spec, holderIdentity: null, leaseDurationSeconds: 1 },
        });
      }
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    } finally {
      this.lease = undefined;
    }
  }
}
