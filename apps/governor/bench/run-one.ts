/**
 * One reaper run in a process of its own, so its peak RSS is its own: `node dist/bench-run.js
 * <node|pod> <offsetMinutes> [flags...]` with KUBECONFIG and the AWS environment set. Prints one JSON line:
 * wall time, Kubernetes requests, AWS calls, peak RSS, and what the run did.
 */
import { KubeClient, noopRecorder, silentLogger } from '@keiko/operator-kit';
import { KubeConfig } from '@kubernetes/client-node';
import { type Command, parseConfig } from '../src/config.js';
import { RunMetrics } from '../src/run/metrics.js';
import { runReaper } from '../src/run/run.js';

const [command, offset, ...argv] = process.argv.slice(2) as [Command, string, ...string[]];
const kc = new KubeConfig();
kc.loadFromDefault();
const client = await KubeClient.fromKubeConfig(kc, 'governor-bench');
let kubeRequests = 0;
const request = client.transport.request.bind(client.transport);
client.transport.request = ((...args: Parameters<typeof request>) => {
  kubeRequests++;
  return request(...args);
}) as typeof client.transport.request;
const metrics = new RunMetrics(command);
const aws =
  command === 'node'
    ? await (await import('@keiko/aws-kit')).AwsClients.create({ registry: metrics.registry })
    : undefined;
const config = parseConfig(command, { argv, env: process.env });
const t0 = performance.now();
const report = await runReaper(command, config, {
  client,
  ...(aws ? { aws } : {}),
  now: () => new Date(Date.now() + Number(offset) * 60_000),
  sleep: async () => {},
  recorder: noopRecorder,
  log: silentLogger(),
  metrics,
});
const seconds = (performance.now() - t0) / 1000;
const awsCalls = aws
  ? (await metrics.registry.getSingleMetric('aws_api_calls_total')!.get()).values.map((v) => ({
      operation: v.labels.operation,
      calls: v.value,
    }))
  : [];
console.log(
  JSON.stringify({
    command,
    seconds,
    kubeRequests,
    awsCalls,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    planned: report.actions.length,
    done: report.results.filter((r) => r.outcome === 'done').length,
    failed: report.results.filter((r) => r.outcome === 'failed').length,
    byAction: report.actions.reduce<Record<string, number>>((m, a) => {
      m[a.action] = (m[a.action] ?? 0) + 1;
      return m;
    }, {}),
  }),
);
client.transport.close();
aws?.destroy();
