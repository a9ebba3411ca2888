/** The instance-manager process: flags/env -> config -> Manager. */
import { AwsClients } from '@keiko/aws-kit';
import { createLogger, Manager } from '@keiko/operator-kit';
import { parseConfig } from './config.js';
import { countAwsCalls } from './controller/aws-calls.js';
import { instanceGroupController } from './controller/instancegroup.js';

const config = parseConfig(process.argv.slice(2), process.env);
const logger = createLogger({ level: config.logLevel, base: { app: 'instance-manager' } });
const manager = await Manager.create({
  name: 'instance-manager',
  logger,
  opsPort: config.opsPort,
  ...(config.leaderElect ? { leaderElection: { namespace: config.leaseNamespace } } : {}),
});
const aws = await AwsClients.create({
  ...(config.region ? { region: config.region } : {}),
  maxAttempts: config.maxApiRetries,
  registry: manager.registry,
  customize: countAwsCalls,
});
instanceGroupController(manager, {
  aws,
  configNamespace: config.configNamespace,
  workers: config.maxWorkers,
  pollMs: config.pollSeconds * 1000,
  resyncMs: config.resyncSeconds * 1000,
  drainTimeoutMs: config.drainTimeoutSeconds * 1000,
  configRetention: config.configRetention,
  nodeIdentity: config.nodeIdentity,
});
manager.handleSignals();
await manager.start();
