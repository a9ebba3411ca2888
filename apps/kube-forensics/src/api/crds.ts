/** Writes (or with --check, verifies) the chart's CRD YAML from the TypeBox schema. */
import { runCrdScript } from '@keiko/operator-kit/crd';
import { podCheckpointCrd } from './podcheckpoint.js';

await runCrdScript({
  crds: [podCheckpointCrd],
  outDir: new URL('../../../deploy/charts/kube-forensics/crds', import.meta.url),
  command: 'pnpm --filter @keiko/kube-forensics crds',
});
