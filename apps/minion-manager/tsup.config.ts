import { defineConfig } from 'tsup';

export default defineConfig({
  // The controller process. minion-manager has no CRD, so there is no crds entry.
  entry: { main: 'src/main.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node24',
  sourcemap: true,
  clean: true,
  banner: { js: '#!/usr/bin/env node' },
});
