/**
 * How test processes find the shared control plane: the jest global setup starts one and exports
 * `KUBECONFIG`; a test file reads it from there. `KEIKO_TEST_KUBECONFIG` points the whole run at an
 * existing cluster instead (a running `./dev run`, or kind in GitHub CI).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from './kubeconfig.js';

export const ENV_KUBECONFIG = 'KUBECONFIG';
/** Use this cluster instead of starting a local control plane. */
export const ENV_EXTERNAL_KUBECONFIG = 'KEIKO_TEST_KUBECONFIG';
/** Set by the jest global setup when it started the local control plane: its work directory. */
export const ENV_CONTROL_PLANE_DIR = 'KEIKO_CONTROL_PLANE_DIR';

/** The kubeconfig of the cluster under test, from the environment the global setup prepared. */
export function testKubeConfig(): KubeConfig {
  const path = process.env[ENV_EXTERNAL_KUBECONFIG] ?? process.env[ENV_KUBECONFIG];
  if (!path) {
    throw new Error(
      'testkit: no KUBECONFIG in the environment. Run the tests through jest with the testkit global setup ' +
        "(jestConfig({ globalSetup: true }) in jest.config.js), or set KEIKO_TEST_KUBECONFIG to a cluster's kubeconfig.",
    );
  }
  return loadKubeConfig(path);
}
