/**
 * `governor reap node|pod|pdb [flags]`: one run of a reaper, for a CronJob. Flags/env/config file ->
 * config -> one run; the JSON plan on stdout with --dry-run; exit code 1 when some action failed
 * (after the whole run), 2 on bad configuration.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, KubeClient, noopRecorder, Recorder } from '@keiko/operator-kit';
import { KubeConfig } from '@kubernetes/client-node';
import { type Command, ConfigError, parseCommandLine, parseConfig } from './config.js';
import type { RunContext } from './run/context.js';
import { RunMetrics } from './run/metrics.js';
import { runReaper } from './run/run.js';

export const VERSION = '0.1.0';
const USAGE = `usage: governor reap node|pod|pdb [--config file] [flags]   (see docs/governor.md)
       governor version`;

async function main(argv: string[]): Promise<number> {
  const { command, version, rest } = parseCommandLine(argv);
  if (version) {
    console.log(VERSION);
    return 0;
  }
  if (!command) {
    console.error(USAGE);
    return 2;
  }
  let config: ReturnType<typeof parseConfig<Command>>;
  try {
    config = parseConfig(command, { argv: rest });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`governor reap ${command}: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const identity = config.identity || `${hostname()}-${process.pid}`;
  const log = createLogger({ level: config.logLevel, base: { app: 'governor', reaper: command } });
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromDefault();
  const client = await KubeClient.fromKubeConfig(kc, `governor-${command}-reaper`);
  const metrics = new RunMetrics(command);
  const aws =
    command === 'node'
      ? await (await import('@keiko/aws-kit')).AwsClients.create({
          registry: metrics.registry,
          ...((config as { region?: string }).region
            ? { region: (config as { region: string }).region }
            : {}),
        })
      : undefined;
  const ctx: RunContext = {
    client,
    ...(aws ? { aws } : {}),
    now: () => new Date(),
    sleep: (ms) => sleep(ms),
    recorder: config.dryRun ? noopRecorder : new Recorder(client, 'keikoproj.io/governor', identity, log),
    log,
    metrics,
  };
  try {
    const report = await runReaper(command, { ...config, identity }, ctx);
    if (config.dryRun) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    await metrics
      .export({ textfile: config.metricsTextfile, pushgatewayUrl: config.pushgatewayUrl })
      .catch((err) => log.warn({ err: String(err) }, 'could not export metrics'));
    return report.results.some((r) => r.outcome === 'failed') ? 1 : 0;
  } finally {
    client.transport.close();
    aws?.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`governor: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
