import { jestConfig } from '../../jest.config.base.js';

// The shared control plane plus the AWS emulator (moto): testkit's global setup starts both.
export default { ...jestConfig({ globalSetup: true }), globals: { keikoAwsEmulator: true } };
