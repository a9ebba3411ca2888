/** Writes (or with `--check`, verifies) the chart's CRD YAML from the TypeBox schemas. */
import { runCrdScript } from '@keiko/operator-kit/crd';
import { instanceGroupCrd } from './instancegroup.js';

await runCrdScript({
  crds: [instanceGroupCrd],
  outDir: new URL('../../../deploy/charts/instance-manager/crds', import.meta.url),
  command: 'pnpm --filter @keiko/instance-manager crds',
});
