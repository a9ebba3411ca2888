/**
 * The contract between the controller and the worker: the environment variables the capture Job sets
 * and the worker reads. One definition, used on both sides.
 */
export const WORKER_ENV = {
  checkpointName: 'CHECKPOINT_NAME',
  checkpointNamespace: 'CHECKPOINT_NAMESPACE',
  checkpointUid: 'CHECKPOINT_UID',
  podName: 'POD_NAME',
  podNamespace: 'POD_NAMESPACE',
  podUid: 'POD_UID',
  nodeName: 'NODE_NAME',
  /** Upstream's name for the bucket. */
  bucket: 'DEST_BUCKET',
  /** Key prefix of the capture directory (`<prefix>/<subpath>/<epoch>_<ns>_<pod>`). */
  keyPrefix: 'DEST_PREFIX',
  /** JSON array of {@link CaptureTarget}. */
  containers: 'CONTAINERS',
  /** Who asked: the managers that created the PodCheckpoint (the API server does not record users). */
  requester: 'REQUESTER',
  criEndpoint: 'CRI_ENDPOINT',
  /** Where the node's filesystem is mounted (`/host`): `/host/proc`, `/host/var/log/pods`, ... */
  hostRoot: 'HOST_ROOT',
} as const;

/** Exit codes of the worker; the controller turns them into a Failed reason. */
export const WORKER_EXIT = {
  ok: 0,
  /** Some mandatory artifact failed; the rest and manifest.json were uploaded. */
  artifactFailed: 1,
  /** The environment the controller set is missing or malformed. */
  badConfig: 2,
  /** The pod's sandbox is not on this node's runtime any more (pod deleted or moved). */
  targetGone: 3,
  /** Nothing could be written to S3 (credentials, bucket, network): not even the manifest. */
  uploadFailed: 4,
  /** The CRI socket did not answer (wrong --cri-endpoint, runtime down). */
  runtimeUnavailable: 5,
} as const;

export const EXIT_REASONS: Record<number, string> = {
  1: 'ArtifactFailed',
  2: 'WorkerMisconfigured',
  3: 'TargetGone',
  4: 'UploadFailed',
  5: 'RuntimeUnavailable',
};
