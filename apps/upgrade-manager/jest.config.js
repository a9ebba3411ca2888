import { jestConfig } from '../../jest.config.base.js';

// The shared control plane plus the AWS emulator (moto): testkit's global setup starts both.
// One file at a time: every test account gets the same VPC CIDR, and moto hands out the same private
// IPs per account, so two files' simulated Nodes would share names (ip-10-0-0-9.ec2.internal) and
// one roll would drain the other's pods.
export default { ...jestConfig({ globalSetup: true }), globals: { keikoAwsEmulator: true }, maxWorkers: 1 };
