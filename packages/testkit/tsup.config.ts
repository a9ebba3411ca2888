import { defineConfig } from 'tsup';

export default defineConfig({
  entry: [
    'src/index.ts',
    'src/cli.ts',
    'src/jest/global-setup.ts',
    'src/jest/global-teardown.ts',
    'src/bench/startup.ts',
  ],
  format: ['esm'],
  platform: 'node',
  target: 'node24',
  dts: { entry: ['src/index.ts'] },
  sourcemap: true,
  clean: true,
  splitting: true,
});
