/**
 * upgrade-manager: flags/env -> config -> Manager with the RollingUpgrade controller. Nothing else.
 * AWS: region and credentials from the default chain (IRSA in the chart), `AWS_ENDPOINT_URL` honoured.
 */
import { AwsClients } from '@keiko/aws-kit';
import { createLogger, Manager } from '@keiko/operator-kit';
import { Registry } from 'prom-client';
import { parseConfig } from './config.js';
import { rollingUpgradeController } from './controller/rollingupgrade.js';

let config: ReturnType<typeof parseConfig>;
try {
  config = parseConfig(process.argv.slice(2));
} catch (err) {
  console.error(`upgrade-manager: ${(err as Error).message}`);
  process.exit(2);
}
const registry = new Registry();
const logger = createLogger({ level: config.logLevel, base: { app: 'upgrade-manager' } });
const aws = await AwsClients.create({ registry });
const manager = await Manager.create({
  name: 'upgrade-manager',
  logger,
  registry,
  opsPort: config.opsPort,
  ...(config.leaderElect ? { leaderElection: { namespace: config.leaseNamespace } } : {}),
});
rollingUpgradeController(manager, { config, aws, registry });
manager.handleSignals();
await manager.start();
