import { jestConfig } from '../jest.config.base.js';

// KEIKO_TEST_KUBECONFIG=<path> runs these suites against an existing cluster (kind in GitHub CI);
// without it the testkit global setup starts the local control plane.
export default jestConfig({ globalSetup: true });
