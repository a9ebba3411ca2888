/**
 * jest globalSetup: one local control plane for the whole jest run, shared by every test file
 * (2-core machines cannot afford one per file). Test files isolate themselves by namespace.
 *
 * A package whose tests talk to AWS also asks for the emulator (moto), started alongside the
 * control plane, by setting `globals: { keikoAwsEmulator: true }` in its jest config (or
 * `KEIKO_TEST_AWS=1`). Its URL, a region and dummy credentials are exported to the test processes
 * (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...); test files create an isolated
 * account on it with `createTestAwsAccount`. `KEIKO_TEST_AWS_ENDPOINT_URL` points the run at an
 * emulator that is already running instead.
 *
 * A package whose tests need Argo Workflows sets `globals: { keikoArgo: true }` (or
 * `{ keikoArgo: { instanceID: 'my-controller' } }`, or `KEIKO_TEST_ARGO=1`): Argo's CRDs are installed
 * and its workflow-controller runs against the control plane, with kwok finishing workflow pods (see
 * src/argo). `KEIKO_ARGO_NAMESPACE` / `KEIKO_ARGO_INSTANCE_ID` are exported. Against an existing
 * cluster (`KEIKO_TEST_KUBECONFIG`) Argo is expected to be there already and is not started.
 */
import { ArgoWorkflows, ENV_ARGO_INSTANCE_ID, ENV_ARGO_NAMESPACE } from '../argo/workflows.js';
import { ENV_AWS_EMULATOR, ENV_EXTERNAL_AWS_ENDPOINT } from '../aws/env.js';
import { MotoServer } from '../aws/moto.js';
import { ControlPlane } from '../control-plane.js';
import { ENV_CONTROL_PLANE_DIR, ENV_EXTERNAL_KUBECONFIG, ENV_KUBECONFIG } from '../env.js';

declare global {
  // Shared with global-teardown, which jest runs in the same process.
  var __keikoControlPlane: ControlPlane | undefined;
  var __keikoMoto: MotoServer | undefined;
  var __keikoArgo: ArgoWorkflows | undefined;
}

interface ProjectConfigLike {
  globals?: Record<string, unknown>;
}

/** Dummy credentials: the emulator ignores them, and real ones must never be used by tests. */
function exportAwsEnv(endpoint: string): void {
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_REGION = process.env.AWS_REGION ?? 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
}

async function startAws(): Promise<void> {
  const external = process.env[ENV_EXTERNAL_AWS_ENDPOINT];
  if (external) {
    exportAwsEnv(external);
    console.log(`\n[testkit] using the AWS emulator at ${external}`);
    return;
  }
  const t0 = Date.now();
  const moto = await MotoServer.start();
  globalThis.__keikoMoto = moto;
  exportAwsEnv(moto.endpoint);
  console.log(`\n[testkit] AWS emulator (moto) ready in ${Date.now() - t0} ms (${moto.endpoint})`);
}

async function startKubernetes(): Promise<void> {
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

/** `keikoArgo` from the jest globals: false, or the Argo options asked for. */
function argoRequest(globals: Record<string, unknown> | undefined): { instanceID?: string } | false {
  const value = globals?.keikoArgo;
  if (value && typeof value === 'object') return value as { instanceID?: string };
  if (value === true || process.env.KEIKO_TEST_ARGO === '1') return {};
  return false;
}

async function startArgo(options: { instanceID?: string }): Promise<void> {
  const cp = globalThis.__keikoControlPlane;
  if (!cp) {
    console.log('\n[testkit] existing cluster: Argo Workflows is expected to be installed there');
    return;
  }
  const t0 = Date.now();
  const argo = await ArgoWorkflows.start({
    kubeconfigPath: cp.kubeconfigPath,
    instanceID: options.instanceID,
  });
  globalThis.__keikoArgo = argo;
  process.env[ENV_ARGO_NAMESPACE] = argo.namespace;
  if (argo.instanceID) process.env[ENV_ARGO_INSTANCE_ID] = argo.instanceID;
  const phases = Object.entries(argo.timings)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(`[testkit] Argo Workflows ${argo.version} ready in ${Date.now() - t0} ms (${phases})`);
}

export default async function globalSetup(
  _globalConfig?: unknown,
  projectConfig?: ProjectConfigLike,
): Promise<void> {
  const wantAws = projectConfig?.globals?.keikoAwsEmulator === true || process.env[ENV_AWS_EMULATOR] === '1';
  const wantArgo = argoRequest(projectConfig?.globals);
  if (!wantAws && !wantArgo) {
    await startKubernetes();
    return;
  }
  // Argo needs the API server; moto does not, so it starts alongside.
  const kubernetesThenArgo = async () => {
    await startKubernetes();
    if (wantArgo) await startArgo(wantArgo);
  };
  const results = await Promise.allSettled([kubernetesThenArgo(), ...(wantAws ? [startAws()] : [])]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // jest skips the teardown when setup throws: stop what did start.
    await globalThis.__keikoArgo?.stop();
    await Promise.all([globalThis.__keikoControlPlane?.stop(), globalThis.__keikoMoto?.stop()]);
    throw failed.reason;
  }
}
