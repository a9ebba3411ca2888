/** Writes (or with --check, verifies) the chart's CRD YAML from the TypeBox schema. */
import { runCrdScript } from '@keiko/operator-kit/crd';
import { healthCheckCrd } from './healthcheck.js';

await runCrdScript({
  crds: [healthCheckCrd],
  outDir: new URL('../../../deploy/charts/active-monitor/crds', import.meta.url),
  command: 'pnpm --filter @keiko/active-monitor crds',
});
