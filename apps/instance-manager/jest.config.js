import { jestConfig } from '../../jest.config.base.js';

// The shared control plane plus the AWS emulator (moto): testkit's global setup starts both.
// One test file at a time: every seeded test account uses the VPC 10.0.0.0/16, so two files'
// instances can get the same private DNS name, i.e. the same Node name, and their node simulators
// then fight over that Node (a testkit issue, reported). Serial runs avoid it.
export default { ...jestConfig({ globalSetup: true }), globals: { keikoAwsEmulator: true }, maxWorkers: 1 };
