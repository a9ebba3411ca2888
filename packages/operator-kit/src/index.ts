/**
 * @keiko/operator-kit: the reconcile runtime every Keiko controller runs on.
 * See README.md for the model and a complete example.
 */
export {
  KubeClient,
  type ListOptions,
  type PatchType,
  type WatchEvent,
  withTypeMeta,
} from './client/client.js';
export * from './client/errors.js';
export * from './client/object.js';
export * from './client/resource.js';
export { Transport } from './client/transport.js';
export * from './conditions.js';
export { Controller, type ControllerOptions } from './controller/controller.js';
export {
  type EventInput,
  type EventRecorder,
  type EventType,
  noopRecorder,
  Recorder,
} from './events/recorder.js';
export * from './finalizer.js';
export { readFlags } from './flags.js';
export { type LeaderElectionOptions, LeaderElector } from './leader/lease.js';
export { createLogger, errorMessage, type Logger, silentLogger } from './log.js';
export { Manager, type ManagerOptions } from './manager.js';
export { ControllerMetrics } from './metrics.js';
export { OpsServer } from './ops/server.js';
export * as predicates from './predicates.js';
export { exponentialDelay, JitteredBackoff, TokenBucket } from './queue/backoff.js';
export { WorkQueue } from './queue/queue.js';
export * from './reconcile.js';
export { OwnVersions } from './reflector/own-versions.js';
export {
  Reflector,
  type ReflectorHandler,
  type ReflectorOptions,
  stripManagedFields,
} from './reflector/reflector.js';
export { byOwnerUid, OWNER_UID_INDEX, Store } from './reflector/store.js';
