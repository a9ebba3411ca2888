/**
 * The worker's configuration: the environment the capture Job sets (see checkpoint/worker-env.ts).
 * Anything missing or malformed is a {@link WorkerConfigError} (exit code 2).
 */
import type { CaptureTarget } from '../checkpoint/containers.js';
import { WORKER_ENV } from '../checkpoint/worker-env.js';
import type { PodRef } from './runtime.js';

export interface WorkerConfig {
  checkpoint: { namespace: string; name: string; uid: string };
  pod: PodRef;
  nodeName: string;
  bucket: string;
  /** Key prefix of the capture directory, no trailing slash. */
  keyPrefix: string;
  containers: CaptureTarget[];
  requester: string;
  criEndpoint: string;
  hostRoot: string;
}

export class WorkerConfigError extends Error {
  override name = 'WorkerConfigError';
}

export function parseWorkerEnv(env: NodeJS.ProcessEnv): WorkerConfig {
  const need = (key: string) => {
    const v = env[key];
    if (!v) throw new WorkerConfigError(`environment variable ${key} is required`);
    return v;
  };
  let containers: CaptureTarget[];
  try {
    containers = JSON.parse(need(WORKER_ENV.containers)) as CaptureTarget[];
    if (!Array.isArray(containers) || containers.some((c) => !c?.name || !c?.id))
      throw new Error('not a list of {name, id}');
  } catch (err) {
    if (err instanceof WorkerConfigError) throw err;
    throw new WorkerConfigError(`${WORKER_ENV.containers} is not valid: ${(err as Error).message}`);
  }
  return {
    checkpoint: {
      namespace: need(WORKER_ENV.checkpointNamespace),
      name: need(WORKER_ENV.checkpointName),
      uid: need(WORKER_ENV.checkpointUid),
    },
    pod: {
      namespace: need(WORKER_ENV.podNamespace),
      name: need(WORKER_ENV.podName),
      uid: need(WORKER_ENV.podUid),
    },
    nodeName: need(WORKER_ENV.nodeName),
    bucket: need(WORKER_ENV.bucket),
    keyPrefix: need(WORKER_ENV.keyPrefix).replace(/\/+$/, ''),
    containers,
    requester: env[WORKER_ENV.requester] ?? 'unknown',
    criEndpoint: env[WORKER_ENV.criEndpoint] ?? 'unix:///host/run/containerd/containerd.sock',
    hostRoot: env[WORKER_ENV.hostRoot] ?? '/host',
  };
}
