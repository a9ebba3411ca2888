/**
 * addon-manager: flags/env -> config -> Manager with the Addon controller. Nothing else.
 * It makes no AWS calls; addons that need AWS use IRSA in their own workflow templates.
 */
import { createLogger, Manager } from '@keiko/operator-kit';
import { Registry } from 'prom-client';
import { parseConfig } from './config.js';
import { addonController } from './controller/addon-controller.js';

let config: ReturnType<typeof parseConfig>;
try {
  config = parseConfig(process.argv.slice(2));
} catch (err) {
  console.error(`addon-manager: ${(err as Error).message}`);
  process.exit(2);
}
const registry = new Registry();
const logger = createLogger({ level: config.logLevel, base: { app: 'addon-manager' } });
const manager = await Manager.create({
  name: 'addon-manager',
  logger,
  registry,
  opsPort: config.opsPort,
  ...(config.leaderElect ? { leaderElection: { namespace: config.leaseNamespace } } : {}),
});
addonController(manager, { config, registry });
manager.handleSignals();
await manager.start();
