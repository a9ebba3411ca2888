/**
 * jest globalSetup: one local control plane for the whole jest run, shared by every test file
 * (2-core machines cannot afford one per file). Test files isolate themselves by namespace.
 */
import { ControlPlane } from '../control-plane.js';
import { ENV_CONTROL_PLANE_DIR, ENV_EXTERNAL_KUBECONFIG, ENV_KUBECONFIG } from '../env.js';

declare global {
  // Shared with global-teardown, which jest runs in the same process.
  var __keikoControlPlane: ControlPlane | undefined;
}

export default async function globalSetup(): Promise<void> {
  const external = process.env[ENV_EXTERNAL_KUBECONFIG];
  if (external) {
    process.env[ENV_KUBECONFIG] = external;
    console.log(`\n[testkit] using the existing cluster in ${external}`);
    return;
  }
  const cp = await ControlPlane.start();
  globalThis.__keikoControlPlane = cp;
  process.env[ENV_KUBECONFIG] = cp.kubeconfigPath;
  process.env[ENV_CONTROL_PLANE_DIR] = cp.workDir;
  console.log(`\n[testkit] control plane ready in ${cp.timings.total} ms (${cp.server})`);
}
