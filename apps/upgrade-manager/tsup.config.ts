import { defineConfig } from 'tsup';

export default defineConfig({
  // main: the controller process (bundled); crds: writes/checks the chart's CRD YAML.
  entry: { main: 'src/main.ts', crds: 'src/api/crds.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node24',
  sourcemap: true,
  clean: true,
  // aws-kit and the AWS SDK are bundled from their ES modules, so esbuild keeps only the clients,
  // commands and schemas this controller uses: loading all of @aws-sdk/client-ec2 costs ~30 MB more
  // RSS (measured by bench/roll-100.ts). The bundle loads CommonJS-only dependencies through require.
  noExternal: ['@keiko/aws-kit', /^@aws-sdk\//, /^@smithy\//, /^@aws-crypto\//],
  esbuildOptions(options) {
    options.mainFields = ['module', 'main'];
  },
  banner: {
    js: "import { createRequire as __keikoCreateRequire } from 'node:module'; const require = __keikoCreateRequire(import.meta.url);",
  },
});
