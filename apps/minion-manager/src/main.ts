/** minion-manager: flags/env -> config -> Manager. */
import { AutoScalingGroups, AwsClients, Ec2 } from '@keiko/aws-kit';
import { createLogger, errorMessage, Manager } from '@keiko/operator-kit';
import { ConfigError, parseConfig } from './config.js';
import { MinionMetrics } from './controller/metrics.js';
import { registerMinionManager } from './controller/setup.js';
import { PricingApiOnDemand } from './pricing/on-demand.js';
import { Ec2SpotPrices } from './pricing/spot.js';

async function main() {
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`minion-manager: ${errorMessage(err)}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  }
  const logger = createLogger({ level: config.logLevel, base: { app: 'minion-manager' } });
  const manager = await Manager.create({
    name: 'minion-manager',
    logger,
    opsPort: config.opsPort,
    leaderElection: config.leaderElect ? { namespace: config.namespace } : undefined,
  });
  const aws = await AwsClients.create({ region: config.region, registry: manager.registry });
  const ec2 = new Ec2(aws);
  await registerMinionManager(manager, config, {
    aws,
    asgs: new AutoScalingGroups(aws),
    ec2,
    onDemand: new PricingApiOnDemand(aws, {
      region: aws.region,
      ttlMs: config.priceCacheTtlMs,
      onError: (instanceType, err) =>
        logger.warn(
          { instanceType, err: errorMessage(err) },
          'pricing API failed; using the bundled price table',
        ),
    }),
    spot: new Ec2SpotPrices(ec2),
    metrics: new MinionMetrics(manager.registry),
    now: Date.now,
  });
  manager.handleSignals();
  logger.info({ cluster: config.clusterName, region: aws.region, eventsOnly: config.eventsOnly }, 'starting');
  await manager.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`minion-manager: ${errorMessage(err)}\n`);
  process.exit(1);
});
