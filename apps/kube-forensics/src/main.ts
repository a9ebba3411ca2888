/**
 * kube-forensics controller: flags/env -> config -> Manager with the PodCheckpoint controller. Nothing
 * else. The controller makes no AWS calls; the capture worker (src/worker.ts, same image) does.
 */
import { createLogger, Manager } from '@keiko/operator-kit';
import { Registry } from 'prom-client';
import { parseConfig } from './config.js';
import { podCheckpointController } from './controller/podcheckpoint.js';

let config: ReturnType<typeof parseConfig>;
try {
  config = parseConfig(process.argv.slice(2));
} catch (err) {
  console.error(`kube-forensics: ${(err as Error).message}`);
  process.exit(2);
}
const registry = new Registry();
const logger = createLogger({ level: config.logLevel, base: { app: 'kube-forensics' } });
const manager = await Manager.create({
  name: 'kube-forensics',
  logger,
  registry,
  opsPort: config.opsPort,
  ...(config.leaderElect ? { leaderElection: { namespace: config.leaseNamespace } } : {}),
});
podCheckpointController(manager, { config, registry });
manager.handleSignals();
await manager.start();
