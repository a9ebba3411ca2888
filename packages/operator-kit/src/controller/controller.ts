/**
 * A controller: reconciles one primary kind. Triggers enqueue keys of primary objects (never the events
 * themselves): changes of the primary object, changes of objects it owns (by a controller
 * ownerReference), and changes of any other kind through a map function. A pool of workers takes keys
 * from the {@link WorkQueue} and runs the {@link Reconciler} on the object as cached at that moment.
 */
import { randomUUID } from 'node:crypto';
import type { KubeClient } from '../client/client.js';
import { type KubeObject, keyOf, parseKey } from '../client/object.js';
import { apiVersionOf } from '../client/resource.js';
import type { EventRecorder } from '../events/recorder.js';
import { errorMessage, type Logger } from '../log.js';
import type { ControllerMetrics } from '../metrics.js';
import type { UpdatePredicate } from '../predicates.js';
import { WorkQueue } from '../queue/queue.js';
import { type Reconciler, TerminalError } from '../reconcile.js';
import type { Reflector } from '../reflector/reflector.js';

export interface Trigger<S extends KubeObject = KubeObject> {
  reflector: Reflector<S>;
  /** Primary keys to enqueue for a changed object of this kind. */
  map: (obj: S) => string[];
  predicates?: UpdatePredicate<S>[];
}

export interface ControllerOptions<T extends KubeObject> {
  /** Used in metrics, logs and as the queue name. */
  name: string;
  reconcile: Reconciler<T>;
  /** Concurrent reconciles (different keys); default 1. */
  workers?: number;
  predicates?: UpdatePredicate<T>[];
  queue?: ConstructorParameters<typeof WorkQueue>[0];
}

export interface ControllerDeps<T extends KubeObject> {
  primary: Reflector<T>;
  client: KubeClient;
  metrics: ControllerMetrics;
  logger: Logger;
  recorder: EventRecorder;
}

export class Controller<T extends KubeObject = KubeObject> {
  readonly queue: WorkQueue;
  readonly name: string;
  private readonly log: Logger;
  private readonly triggers: Trigger<KubeObject>[] = [];
  private workers: Promise<void>[] = [];
  private readonly abort = new AbortController();
  private started = false;

  constructor(
    private readonly options: ControllerOptions<T>,
    private readonly deps: ControllerDeps<T>,
  ) {
    this.name = options.name;
    this.log = deps.logger.child({ controller: options.name });
    const m = deps.metrics;
    const labels = { name: options.name, controller: options.name };
    this.queue = new WorkQueue({
      ...options.queue,
      hooks: {
        onAdd: () => m.queueAdds.inc(labels),
        onDepth: (d) => m.queueDepth.set(labels, d),
        onGet: (_k, waited) => m.queueDuration.observe(labels, waited / 1000),
        onRetry: () => m.queueRetries.inc(labels),
      },
    });
    this.watch({ reflector: deps.primary, map: (o) => [keyOf(o)], predicates: options.predicates });
  }

  get primary(): Reflector<T> {
    return this.deps.primary;
  }

  /** Reconcile the owner (a primary object) when an object it controls changes. */
  owns<S extends KubeObject>(reflector: Reflector<S>, predicates?: UpdatePredicate<S>[]): this {
    const apiVersion = apiVersionOf(this.deps.primary.resource);
    const kind = this.deps.primary.resource.kind;
    const namespaced = this.deps.primary.resource.namespaced;
    return this.watch({
      reflector,
      predicates,
      map: (o) =>
        (o.metadata.ownerReferences ?? [])
          .filter((r) => r.controller && r.kind === kind && r.apiVersion === apiVersion)
          .map((r) => (namespaced && o.metadata.namespace ? `${o.metadata.namespace}/${r.name}` : r.name)),
    });
  }

  /** Reconcile the primary keys that `map` returns when an object of another kind changes. */
  watches<S extends KubeObject>(
    reflector: Reflector<S>,
    map: (obj: S) => string[],
    predicates?: UpdatePredicate<S>[],
  ) {
    return this.watch({ reflector, map, predicates });
  }

  private watch<S extends KubeObject>(trigger: Trigger<S>): this {
    if (this.started) throw new Error(`controller ${this.name}: triggers must be added before start`);
    this.triggers.push(trigger as unknown as Trigger<KubeObject>);
    const enqueue = (obj: S) => {
      for (const key of trigger.map(obj)) this.queue.add(key);
    };
    trigger.reflector.addHandler({
      add: enqueue,
      delete: enqueue,
      update: (o, n) => {
        if (!trigger.predicates || trigger.predicates.every((p) => p(o, n))) enqueue(n);
      },
    });
    return this;
  }

  /** Reflectors this controller needs synced before its workers start. */
  get reflectors(): Reflector<KubeObject>[] {
    return [...new Set(this.triggers.map((t) => t.reflector))];
  }

  /** Waits for every trigger's cache, then starts the workers. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const workers = this.options.workers ?? 1;
    this.deps.metrics.init(this.name, workers);
    for (const r of this.reflectors) r.start();
    await Promise.all(this.reflectors.map((r) => r.waitForSync()));
    this.log.info({ workers }, 'starting workers');
    for (let i = 0; i < workers; i++) this.workers.push(this.work());
  }

  /**
   * Stops taking keys and waits for in-flight reconciles to finish, at most `deadlineMs`; past the
   * deadline their `signal` is aborted and the controller returns without waiting further.
   */
  async stop(deadlineMs = 30_000): Promise<void> {
    this.queue.shutDown();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), deadlineMs);
    });
    const outcome = await Promise.race([Promise.all(this.workers).then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.log.warn(
        { deadlineMs, inFlight: this.queue.inFlight },
        'shutdown deadline passed; aborting reconciles',
      );
      this.abort.abort();
    }
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.reconcileKey(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async reconcileKey(key: string): Promise<void> {
    const m = this.deps.metrics;
    const controller = this.name;
    const { namespace, name } = parseKey(key);
    const reconcileID = randomUUID();
    const log = this.log.child({ namespace, name, reconcileID });
    const object = this.deps.primary.store.get(key);
    m.activeWorkers.inc({ controller });
    const end = m.reconcileTime.startTimer({ controller });
    const started = performance.now();
    try {
      const result = await this.options.reconcile(
        { key, namespace, name, object },
        {
          client: this.deps.client,
          log,
          reconcileID,
          recorder: this.deps.recorder,
          signal: this.abort.signal,
        },
      );
      this.queue.forget(key);
      log.debug(
        { ms: Math.round(performance.now() - started), requeueAfter: result?.requeueAfter },
        'reconciled',
      );
      if (result?.requeueAfter !== undefined && result.requeueAfter > 0) {
        m.reconcileTotal.inc({ controller, result: 'requeue_after' });
        this.queue.addAfter(key, result.requeueAfter);
      } else {
        m.reconcileTotal.inc({ controller, result: 'success' });
      }
    } catch (err) {
      m.reconcileTotal.inc({ controller, result: 'error' });
      m.reconcileErrors.inc({ controller });
      if (err instanceof TerminalError) {
        m.terminalErrors.inc({ controller });
        this.queue.forget(key);
        log.error({ err: errorMessage(err) }, 'reconcile failed terminally; not retrying');
      } else {
        if (isProgrammingError(err)) m.reconcilePanics.inc({ controller });
        const delay = this.queue.addRateLimited(key);
        log.error({ err: errorMessage(err), retryInMs: delay }, 'reconcile failed');
      }
    } finally {
      end();
      m.workDuration.observe({ name: controller, controller }, (performance.now() - started) / 1000);
      m.activeWorkers.dec({ controller });
    }
  }
}

/** What Go would call a panic: a bug in the reconciler rather than a failure of the world. */
function isProgrammingError(err: unknown): boolean {
  return (
    !(err instanceof Error) ||
    err instanceof TypeError ||
    err instanceof ReferenceError ||
    err instanceof RangeError ||
    err instanceof SyntaxError
  );
}
