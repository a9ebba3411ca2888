import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { main: 'src/main.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node24',
  // testkit locates its binaries relative to its own package: never bundle it.
  external: ['@keiko/testkit'],
  sourcemap: true,
  clean: true,
});
