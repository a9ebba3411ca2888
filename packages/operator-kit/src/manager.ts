/**
 * The Manager owns what a controller process shares: one API connection, one set of caches (a reflector
 * per kind and selector, shared by every controller that watches it), the metrics registry, the ops
 * server, leader election and graceful shutdown.
 *
 * Caches start at once (a standby replica is warm when it takes over); controllers' workers start only
 * while this process leads. Losing leadership stops the workers and calls `onLeadershipLost` (by
 * default the process exits, as controller-runtime's manager does, so the pod restarts clean).
 */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { KubeClient } from './client/client.js';
import type { KubeObject } from './client/object.js';
import type { Resource } from './client/resource.js';
import { Controller, type ControllerOptions } from './controller/controller.js';
import { type EventRecorder, Recorder } from './events/recorder.js';
import { LeaderElector } from './leader/lease.js';
import { createLogger, errorMessage, type Logger } from './log.js';
import { ControllerMetrics } from './metrics.js';
import { OpsServer } from './ops/server.js';
import { Reflector, type ReflectorOptions } from './reflector/reflector.js';

export interface ManagerOptions {
  /** Tool name: field manager, event `reportingController`, lease name prefix. */
  name: string;
  kubeConfig?: KubeConfig;
  logger?: Logger;
  registry?: Registry;
  /** Ops server port (`/healthz`, `/readyz`, `/metrics`); undefined: no server; 0: any free port. */
  opsPort?: number;
  opsHost?: string;
  leaderElection?: {
    namespace: string;
    /** Default `<name>-leader`. */
    leaseName?: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  /** How long in-flight reconciles may run after a shutdown signal; default 30 s. */
  gracefulShutdownMs?: number;
  /** Called when leadership is lost; default: exit(1) so the pod restarts. */
  onLeadershipLost?: () => void;
  /** Identity for leases and events; default hostname + random suffix. */
  identity?: string;
}

export class Manager {
  readonly registry: Registry;
  readonly log: Logger;
  readonly identity: string;
  readonly recorder: EventRecorder;
  readonly ops: OpsServer;
  opsPort: number | undefined;
  private readonly reflectors = new Map<string, Reflector<KubeObject>>();
  private readonly controllers: Controller<KubeObject>[] = [];
  private elector: LeaderElector | undefined;
  private stopping: Promise<void> | undefined;
  private controllersRunning = false;

  private constructor(
    readonly client: KubeClient,
    private readonly options: ManagerOptions,
  ) {
    this.registry = options.registry ?? new Registry();
    this.log = options.logger ?? createLogger({ base: { app: options.name } });
    this.identity = options.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
    this.recorder = new Recorder(client, `keikoproj.io/${options.name}`, this.identity, this.log);
    this.ops = new OpsServer(this.registry);
    this.ops.addHealthCheck('ping', () => true);
    this.ops.addReadyCheck('caches', () => {
      const waiting = [...this.reflectors.values()].filter((r) => !r.hasSynced).map((r) => r.resource.plural);
      return waiting.length === 0 || `waiting for caches: ${waiting.join(', ')}`;
    });
  }

  static async create(options: ManagerOptions): Promise<Manager> {
    let kc = options.kubeConfig;
    if (!kc) {
      kc = new KubeConfig();
      kc.loadFromDefault();
    }
    const client = await KubeClient.fromKubeConfig(kc, options.name);
    return new Manager(client, options);
  }

  /** The shared cache for a kind (and optional namespace/selectors). */
  informer<T extends KubeObject>(
    resource: Resource,
    options: Omit<ReflectorOptions<T>, 'logger'> = {},
  ): Reflector<T> {
    const id = [
      resource.group,
      resource.version,
      resource.plural,
      options.namespace ?? '',
      options.labelSelector ?? '',
      options.fieldSelector ?? '',
    ].join('|');
    let r = this.reflectors.get(id);
    if (!r) {
      r = new Reflector<KubeObject>(this.client, resource, {
        ...(options as ReflectorOptions<KubeObject>),
        logger: this.log,
      });
      this.reflectors.set(id, r);
    }
    return r as unknown as Reflector<T>;
  }

  /** A controller for `resource`; add `owns`/`watches` triggers on the returned object before {@link start}. */
  controller<T extends KubeObject>(
    resource: Resource,
    options: ControllerOptions<T> & { informer?: Omit<ReflectorOptions<T>, 'logger'> },
  ): Controller<T> {
    const c = new Controller<T>(options, {
      primary: this.informer<T>(resource, options.informer),
      client: this.client.withFieldManager(this.options.name),
      metrics: ControllerMetrics.for(this.registry),
      logger: this.log,
      recorder: this.recorder,
    });
    this.controllers.push(c as unknown as Controller<KubeObject>);
    return c;
  }

  /**
   * Starts caches and the ops server, then (once leading, when leader election is on) the controllers.
   * Resolves when the controllers' workers run.
   */
  async start(): Promise<void> {
    if (this.options.opsPort !== undefined) {
      this.opsPort = await this.ops.listen(this.options.opsPort, this.options.opsHost);
      this.log.info({ port: this.opsPort }, 'ops server listening');
    }
    for (const r of this.reflectors.values()) r.start();
    const le = this.options.leaderElection;
    if (le) {
      const metrics = ControllerMetrics.for(this.registry);
      const leaseName = le.leaseName ?? `${this.options.name}-leader`;
      metrics.leaderStatus.set({ name: leaseName }, 0);
      this.elector = new LeaderElector(this.client, {
        name: leaseName,
        namespace: le.namespace,
        identity: this.identity,
        leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
        logger: this.log,
        onLeadershipChange: (leading) => {
          metrics.leaderStatus.set({ name: leaseName }, leading ? 1 : 0);
          if (!leading && this.controllersRunning && !this.stopping) this.leadershipLost();
        },
      });
      await this.elector.acquire();
      if (this.stopping) return;
    }
    this.controllersRunning = true;
    await Promise.all(this.controllers.map((c) => c.start()));
  }

  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader : true;
  }

  private leadershipLost(): void {
    this.log.error('leadership lost; stopping controllers');
    this.controllersRunning = false;
    void Promise.all(this.controllers.map((c) => c.stop(0))).then(() => {
      if (this.options.onLeadershipLost) this.options.onLeadershipLost();
      else process.exit(1);
    });
  }

  /**
   * Graceful shutdown: stop dequeuing, let in-flight reconciles finish within the deadline, release
   * the lease at once, stop caches and the ops server. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const deadline = this.options.gracefulShutdownMs ?? 30_000;
      await Promise.all(this.controllers.map((c) => c.stop(deadline)));
      await this.elector?.release();
      await Promise.all([...this.reflectors.values()].map((r) => r.stop()));
      await this.ops.close();
      this.client.transport.close();
      this.log.info('manager stopped');
    })();
    return this.stopping;
  }

  /** Stops gracefully on SIGTERM/SIGINT, then exits. */
  handleSignals(): void {
    const onSignal = (signal: NodeJS.Signals) => {
      this.log.info({ signal }, 'shutting down');
      this.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          this.log.error({ err: errorMessage(err) }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
}
