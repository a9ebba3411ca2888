/**
 * upgrade-manager: flags/env -> config -> Manager with the RollingUpgrade controller. Nothing else.
 * AWS: region and credentials from the default chain (IRSA in the chart), `AWS_ENDPOINT_URL` honoured.
 * `upgrade-manager plan ...` is the dry run as a command (src/cli/plan.ts).
 */
import { AwsClients } from '@keiko/aws-kit';
import { createLogger, Manager } from '@keiko/operator-kit';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parseConfig } from './config.js';
import { rollingUpgradeController } from './controller/rollingupgrade.js';

if (process.argv[2] === 'plan') {
  const { runPlan } = await import('./cli/plan.js');
  process.exit(await runPlan(process.argv.slice(3)));
}

let config: ReturnType<typeof parseConfig>;
try {
  config = parseConfig(process.argv.slice(2));
} catch (err) {
  console.error(`upgrade-manager: ${(err as Error).message}`);
  process.exit(2);
}
const registry = new Registry();
// process_* and nodejs_* (RSS, heap): what the memory target is measured against.
collectDefaultMetrics({ register: registry });
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
