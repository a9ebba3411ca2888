import { defineConfig } from 'tsup';

export default defineConfig({
  // main: the controller process; worker: the capture Job's process (same image, second entry point);
  // crds: writes/checks the chart's CRD YAML.
  entry: { main: 'src/main.ts', worker: 'src/worker.ts', crds: 'src/api/crds.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node24',
  sourcemap: true,
  clean: true,
});
