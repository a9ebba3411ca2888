/**
 * The reconciler contract.
 *
 * A reconciler is level-based: it is told *which* object to look at (its key), never *what happened*.
 * It reads the current state (the cached object, its children, the outside world), makes the world
 * match the spec, writes status, and returns. It must be idempotent: it may run any number of times
 * for the same state, including after a crash half-way through.
 *
 * Three outcomes:
 * - return nothing (or `{}`): done; the key is reconciled again on the next change;
 * - return `{ requeueAfter: ms }`: done for now, look again after that delay (polling external state);
 * - throw: retried with per-key exponential backoff; throw {@link TerminalError} when retrying cannot
 *   help (invalid spec already reported in a condition): it is logged and counted, not retried.
 *
 * Any exception is caught by the controller, counted (`controller_runtime_reconcile_errors_total`) and
 * retried; a reconcile never takes the process down.
 */
import type { KubeClient } from './client/client.js';
import type { KubeObject } from './client/object.js';
import type { EventRecorder } from './events/recorder.js';
import type { Logger } from './log.js';

export interface Result {
  /** Reconcile this key again after this many milliseconds (in addition to change triggers). */
  requeueAfter?: number;
}

export interface Request<T extends KubeObject> {
  /** `namespace/name` (or `name` for cluster-scoped kinds). */
  key: string;
  namespace?: string;
  name: string;
  /** The object as cached now (not as it was when the trigger fired); undefined when it is gone. */
  object: T | undefined;
}

export interface ReconcileContext {
  client: KubeClient;
  /** Carries `controller`, `namespace`, `name` and a fresh `reconcileID`. */
  log: Logger;
  reconcileID: string;
  recorder: EventRecorder;
  /** Aborted when the manager shuts down and the graceful deadline passes. */
  signal: AbortSignal;
}

export type Reconciler<T extends KubeObject> = (
  req: Request<T>,
  ctx: ReconcileContext,
) => Promise<Result | undefined | void>;

/** An error that retrying will not fix: logged and counted, never retried. */
export class TerminalError extends Error {
  override name = 'TerminalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
