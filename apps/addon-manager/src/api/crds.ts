/** Writes (or with --check, verifies) the chart's CRD YAML from the TypeBox schema. */
import { runCrdScript } from '@keiko/operator-kit/crd';
import { addonCrd } from './addon.js';

await runCrdScript({
  crds: [addonCrd],
  outDir: new URL('../../../deploy/charts/addon-manager/crds', import.meta.url),
  command: 'pnpm --filter @keiko/addon-manager crds',
});
