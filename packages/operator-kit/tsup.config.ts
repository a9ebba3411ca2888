import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'crd/index': 'src/crd/index.ts',
    // The example controller's process entry point, spawned by the leader-election test.
    'examples/configmap-mirror-main': 'examples/configmap-mirror-main.ts',
    // The benchmark (a script, not a test) and its operator-kit controller process.
    'bench/reconcile': 'bench/reconcile.ts',
    'bench/ts-controller': 'bench/ts-controller.ts',
  },
  format: ['esm'],
  // testkit locates its binaries relative to its own package: never bundle it.
  external: ['@keiko/testkit'],
  platform: 'node',
  target: 'node24',
  dts: true,
  sourcemap: true,
  clean: true,
});
