import { jestConfig } from '../../jest.config.base.js';

// The shared control plane plus the AWS emulator (moto): testkit's global setup starts both.
// One worker: test accounts seeded with the same subnet CIDRs give two files launching instances at
// once Nodes with the same names (ip-10-0-0-N), and their node simulators fight. (testkit is moving
// to a CIDR per account; one worker also keeps this suite gentle on the shared 2 cores.)
export default { ...jestConfig({ globalSetup: true }), globals: { keikoAwsEmulator: true }, maxWorkers: 1 };
