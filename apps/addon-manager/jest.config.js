import { jestConfig } from '../../jest.config.base.js';

// The shared control plane plus real Argo Workflows (testkit's global setup starts both). The Argo
// controller runs with upstream addon-manager's instance id, which the Addon controller stamps on
// every Workflow it creates.
export default {
  ...jestConfig({ globalSetup: true }),
  globals: { keikoArgo: { instanceID: 'addon-manager-workflow-controller' } },
};
