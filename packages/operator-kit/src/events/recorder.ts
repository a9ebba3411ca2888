/**
 * An events.k8s.io/v1 recorder. Repeats of the same event (same object, type, reason, action and note)
 * within six minutes update the first event's `series` (count, lastObservedTime) instead of creating new
 * Event objects, as the Kubernetes recorder and kube-rs do. Controllers should emit on transitions
 * (a phase change, a failure), not on every reconcile.
 *
 * Recording never throws: a failure to write an event is logged and dropped.
 */
import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../client/client.js';
import type { KubeObject } from '../client/object.js';
import { CoreResources } from '../client/resource.js';
import { errorMessage, type Logger, silentLogger } from '../log.js';

export type EventType = 'Normal' | 'Warning';

export interface EventInput {
  type: EventType;
  /** CamelCase machine-readable reason, e.g. `UpgradeStarted`. */
  reason: string;
  /** What the controller did or failed to do, e.g. `Drain`. */
  action: string;
  /** Human-readable; at most 1 kB. */
  note?: string;
}

export interface EventRecorder {
  event(regarding: KubeObject, input: EventInput): Promise<void>;
}

const SERIES_WINDOW_MS = 6 * 60_000;

interface SeriesEntry {
  name: string;
  namespace: string;
  count: number;
  firstAt: number;
}

/** A MicroTime as the API server wants it: RFC 3339 with microseconds. */
export function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class Recorder implements EventRecorder {
  private readonly series = new Map<string, SeriesEntry>();
  private readonly log: Logger;

  constructor(
    private readonly client: KubeClient,
    /** `reportingController`, e.g. `keikoproj.io/upgrade-manager`. */
    private readonly controller: string,
    /** `reportingInstance`: the pod name, so events from replicas can be told apart. */
    private readonly instance: string,
    logger?: Logger,
  ) {
    this.log = logger ?? silentLogger();
  }

  async event(regarding: KubeObject, input: EventInput): Promise<void> {
    const { name, namespace, uid, resourceVersion } = regarding.metadata;
    const eventNamespace = namespace ?? 'default';
    const note = input.note?.slice(0, 1024);
    const key = [uid ?? `${namespace}/${name}`, input.type, input.reason, input.action, note].join('\u0000');
    const now = Date.now();
    this.prune(now);
    try {
      const seen = this.series.get(key);
      if (seen) {
        seen.count++;
        await this.client.patch(CoreResources.events, seen.name, seen.namespace, {
          series: { count: seen.count, lastObservedTime: microTime(new Date(now)) },
        });
        return;
      }
      const eventName = `${eventNamePrefix(name ?? 'object')}.${randomBytes(8).toString('hex')}`;
      await this.client.create(CoreResources.events, {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: eventName, namespace: eventNamespace },
        eventTime: microTime(new Date(now)),
        reportingController: this.controller,
        reportingInstance: this.instance,
        action: input.action,
        reason: input.reason,
        type: input.type,
        note,
        regarding: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name,
          namespace,
          uid,
          resourceVersion,
        },
      });
      this.series.set(key, { name: eventName, namespace: eventNamespace, count: 1, firstAt: now });
    } catch (err) {
      this.log.warn({ err: errorMessage(err), reason: input.reason }, 'could not record event');
    }
  }

  private prune(now: number): void {
    for (const [k, v] of this.series) if (now - v.firstAt > SERIES_WINDOW_MS) this.series.delete(k);
  }
}

/** A recorder that records nothing (dry runs, tests that do not look at events). */
export const noopRecorder: EventRecorder = { event: async () => {} };

/**
 * The object's name as the start of an Event's name, short enough that `<prefix>.<16 hex>` stays
 * within a DNS subdomain's 253 characters (an object may itself have a 253-character name), ending
 * in an alphanumeric as a subdomain label must.
 */
export function eventNamePrefix(name: string): string {
  const max = 253 - 17;
  return name.length <= max ? name : name.slice(0, max).replace(/[^a-z0-9]+$/, '');
}
