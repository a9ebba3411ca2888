import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'crd/index': 'src/crd/index.ts',
    // The example controller's process entry point, spawned by the leader-election test.
    'examples/configmap-mirror-main': 'examples/configmap-mirror-main.ts',
  },
  format: ['esm'],
  platform: 'node',
  target: 'node24',
  dts: true,
  sourcemap: true,
  clean: true,
});
