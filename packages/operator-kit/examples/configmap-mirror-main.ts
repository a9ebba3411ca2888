/**
 * The example as a process, the way every Keiko app's `main.ts` looks: configuration from env, a
 * Manager with leader election and the ops server, signals handled. Env: `KUBECONFIG`,
 * `LEASE_NAMESPACE` (default `default`), `OPS_PORT` (default 8081), `IDENTITY` (default hostname).
 */
import { createLogger, Manager } from '../src/index.js';
import { configMapMirror } from './configmap-mirror.js';

const manager = await Manager.create({
  name: 'configmap-mirror',
  logger: createLogger({ base: { app: 'configmap-mirror', identity: process.env.IDENTITY } }),
  opsPort: Number(process.env.OPS_PORT ?? 8081),
  opsHost: '127.0.0.1',
  identity: process.env.IDENTITY,
  leaderElection: {
    namespace: process.env.LEASE_NAMESPACE ?? 'default',
    leaseDurationMs: Number(process.env.LEASE_DURATION_MS ?? 15_000),
    renewDeadlineMs: Number(process.env.RENEW_DEADLINE_MS ?? 10_000),
    retryPeriodMs: Number(process.env.RETRY_PERIOD_MS ?? 2_000),
  },
});
configMapMirror(manager);
manager.handleSignals();
await manager.start();
