/** Writes (or with --check, verifies) the chart's CRD YAML from the TypeBox schema. */
import { runCrdScript } from '@keiko/operator-kit/crd';
import { rollingUpgradeCrd } from './rollingupgrade.js';

await runCrdScript({
  crds: [rollingUpgradeCrd],
  outDir: new URL('../../../deploy/charts/upgrade-manager/crds', import.meta.url),
  command: 'pnpm --filter @keiko/upgrade-manager crds',
});
