/** active-monitor: flags/env -> config -> Manager with the HealthCheck controller. Nothing else. */
import { createLogger, Manager } from '@keiko/operator-kit';
import { Registry } from 'prom-client';
import { parseConfig } from './config.js';
import { healthCheckController } from './controller/setup.js';

let config: ReturnType<typeof parseConfig>;
try {
  config = parseConfig(process.argv.slice(2));
} catch (err) {
  console.error(`active-monitor: ${(err as Error).message}`);
  process.exit(2);
}
const registry = new Registry();
const logger = createLogger({ level: config.logLevel, base: { app: 'active-monitor' } });
const manager = await Manager.create({
  name: 'active-monitor',
  logger,
  registry,
  opsPort: config.opsPort,
  ...(config.leaderElect ? { leaderElection: { namespace: config.leaseNamespace } } : {}),
});
const healthChecks = healthCheckController(manager, {
  registry,
  workers: config.maxWorkers,
  scheduleWorkers: config.scheduleWorkers,
  instanceId: config.instanceId,
  namespace: config.namespace,
  sources: { timeoutMs: config.sourceTimeoutSeconds * 1000, ttlMs: config.sourceCacheSeconds * 1000 },
});
// Graceful stop: no new timer passes (those in flight finish), then the Manager's shutdown.
const onSignal = (signal: NodeJS.Signals) => {
  logger.info({ signal }, 'shutting down');
  healthChecks
    .stop()
    .then(() => manager.stop())
    .then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: (err as Error)?.message ?? String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
};
process.once('SIGTERM', onSignal);
process.once('SIGINT', onSignal);
await manager.start();
