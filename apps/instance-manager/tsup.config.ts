import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    main: 'src/main.ts',
    crds: 'src/api/crds.ts',
    // The controller as a library, for the benchmark script (bench/resync.ts runs on plain node).
    controller: 'src/controller/index.ts',
  },
  format: ['esm'],
  platform: 'node',
  target: 'node24',
  sourcemap: true,
  clean: true,
});
