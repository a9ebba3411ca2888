import { jestConfig } from '../../jest.config.base.js';

// The shared control plane plus Argo Workflows' real workflow-controller (testkit's global setup starts
// both); the instance ID is active-monitor's default, so the sample manifests run unchanged.
export default {
  ...jestConfig({ globalSetup: true }),
  globals: { keikoArgo: { instanceID: 'activemonitor-workflows' } },
};
