import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    // The CLI (one-shot reaper runs, meant for CronJobs).
    main: 'src/main.ts',
    // Writes docs/governor.md's flag tables from the config schema.
    docs: 'src/docs.ts',
    // The benchmark: 2,000 nodes / 30,000 pods in the API server.
    bench: 'bench/reapers.ts',
    'bench-run': 'bench/run-one.ts',
  },
  format: ['esm'],
  platform: 'node',
  target: 'node24',
  sourcemap: true,
  clean: true,
  banner: { js: '#!/usr/bin/env node' },
  // testkit (a devDependency, used by the benchmark only) finds its binaries relative to itself.
  external: ['@keiko/testkit'],
});
