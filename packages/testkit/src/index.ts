/**
 * @keiko/testkit: a real local Kubernetes control plane for tests and the sandbox, built from the
 * pinned Go modules, with kwok simulating nodes and pods. No Docker, no fake API server.
 */

export {
  applyManifests,
  type ChartIdentity,
  chartIdentity,
  type Manifest,
  parseManifests,
  type RenderChartOptions,
  renderChart,
  resourceFor,
} from './apply.js';
export { argoCrdFiles, argoDir, argoVersion, workflowControllerPath } from './argo/binaries.js';
export {
  ARGO_DELAY_ANNOTATION,
  ARGO_FAIL_ANNOTATION,
  ARGO_WORKFLOW_POD_LABEL,
  argoKwokStages,
  DEFAULT_ARGO_STEP_MS,
} from './argo/stages.js';
export {
  ARGO_KWOK_NODE_ANNOTATION_VALUE,
  ARGO_WORKER_LABEL,
  ArgoWorkflows,
  type ArgoWorkflowsOptions,
  ENV_ARGO_INSTANCE_ID,
  ENV_ARGO_NAMESPACE,
  installArgoCrds,
} from './argo/workflows.js';
export {
  clusterTagKey,
  createTestAwsAccount,
  type SeededSubnet,
  type TestAwsAccount,
  type TestAwsAccountOptions,
} from './aws/account.js';
export { ENV_AWS_EMULATOR, ENV_EXTERNAL_AWS_ENDPOINT } from './aws/env.js';
export { MissingMotoError, MotoServer, type MotoServerOptions, motoPython, motoVersion } from './aws/moto.js';
export {
  type EmulatedInstance,
  INSTANCE_ID_ANNOTATION,
  NodeSimulator,
  type NodeSimulatorOptions,
  type NodeSimulatorStats,
  nodeForInstance,
  SIMULATED_CLUSTER_LABEL,
} from './aws/node-simulator.js';
export {
  decodeUserData,
  type KubeletRegistration,
  type NodeTaint,
  parseKubeletRegistration,
  parseTaint,
} from './aws/user-data.js';
export type { AwsCredentials } from './aws/wire.js';
export { type BinaryName, binaryPath, componentDir, MissingBinaryError } from './binaries.js';
export {
  ControlPlane,
  type ControlPlaneOptions,
  KWOK_FAILING_IMAGE,
  KWOK_NODE_ANNOTATION,
  KWOK_NODE_ANNOTATION_VALUE,
} from './control-plane.js';
export { type InstallCrdsOptions, installCrds, parseCrds } from './crds.js';
export { ENV_CONTROL_PLANE_DIR, ENV_EXTERNAL_KUBECONFIG, testKubeConfig } from './env.js';
export { loadKubeConfig, renderKubeconfig } from './kubeconfig.js';
export { createTestNamespace, deleteTestNamespace, uniqueName } from './namespaces.js';
export { assertPortFree, freePort, PortInUseError } from './ports.js';
export { processExists } from './process.js';
export { ApiError, rawRequest } from './raw.js';
export { cacheDir, type Versions, versions } from './versions.js';
export { type WaitOptions, waitFor } from './wait.js';
