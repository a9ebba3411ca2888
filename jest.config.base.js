// Shared jest settings for every workspace package: ESM throughout (client-node 2.x is ESM-only),
// TypeScript through ts-jest in ESM mode. Run jest with NODE_OPTIONS=--experimental-vm-modules.
/** @param {{ globalSetup?: boolean }} [options] */
export function jestConfig(options = {}) {
  return {
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    // One shared local control plane per jest run (started in the parent process, torn down at the end).
    ...(options.globalSetup
      ? {
          globalSetup: '@keiko/testkit/jest/global-setup',
          globalTeardown: '@keiko/testkit/jest/global-teardown',
        }
      : {}),
    testTimeout: 120_000,
    maxWorkers: 2,
  };
}
