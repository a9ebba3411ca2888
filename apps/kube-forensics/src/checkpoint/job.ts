/**
 * The capture Job for one request, built purely from the PodCheckpoint, its pod and the controller's
 * configuration. Pinned to the pod's node by `nodeName` (the scheduler is bypassed, so no affinity
 * can be wrong), tolerating every taint (the node may be tainted because it is suspect), bounded by a
 * deadline, a TTL and a small backoff limit, and with the least privilege a capture needs: root to
 * read other users' files, but only the DAC_READ_SEARCH and SYS_PTRACE capabilities, a read-only root
 * filesystem, host paths mounted read-only (the CRI socket included) and no host network unless asked.
 */
import type { KubeObject } from '@keiko/operator-kit';
import { type PodCheckpoint, PodCheckpoints } from '../api/podcheckpoint.js';
import type { Config } from '../config.js';
import type { CaptureTarget } from './containers.js';
import type { S3Location } from './destination.js';
import { WORKER_ENV } from './worker-env.js';

export const LABELS = {
  name: 'app.kubernetes.io/name',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
  checkpointNamespace: 'forensics.keikoproj.io/checkpoint-namespace',
  checkpointName: 'forensics.keikoproj.io/checkpoint-name',
  checkpointUid: 'forensics.keikoproj.io/checkpoint-uid',
} as const;

export const WORKER_CONTAINER = 'kube-forensics-worker';
export const HOST_ROOT = '/host';

export interface JobObject extends KubeObject {
  spec?: {
    template?: {
      metadata?: { labels?: Record<string, string> };
      spec?: Record<string, unknown> & {
        nodeName?: string;
        containers?: (Record<string, unknown> & { env?: { name: string; value?: string }[] })[];
      };
    };
    [k: string]: unknown;
  };
  status?: {
    active?: number;
    succeeded?: number;
    failed?: number;
    ready?: number;
    startTime?: string;
    completionTime?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

/**
 * Deterministic Job name (a restart finds the Job it created): the request's name, cut so the name
 * stays a valid label value (`job-name`), plus 8 characters of its UID (Jobs of requests with the same
 * name in different namespaces share the worker namespace).
 */
export function captureJobName(checkpoint: PodCheckpoint): string {
  // Custom object names may hold dots (DNS subdomains); Job names become label values, which may not.
  const base = (checkpoint.metadata.name ?? 'checkpoint')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .slice(0, 45)
    .replace(/^-+|-+$/g, '');
  return `${base || 'checkpoint'}-${(checkpoint.metadata.uid ?? '').slice(0, 8)}`;
}

/** The requester as far as the API server knows: the field managers that created the object. */
export function requesterOf(checkpoint: PodCheckpoint): string {
  const fields = (checkpoint.metadata.managedFields ?? []) as {
    manager?: string;
    operation?: string;
    subresource?: string;
  }[];
  const managers = fields
    .filter((f) => !f.subresource && (f.operation === 'Apply' || f.operation === 'Update'))
    .map((f) => f.manager)
    .filter((m): m is string => Boolean(m));
  return [...new Set(managers)].join(',') || 'unknown';
}

/** A hostPath volume, mounted read-only under {@link HOST_ROOT}. */
function hostMount(name: string, path: string, type: string) {
  return {
    volume: { name, hostPath: { path, type } },
    mount: { name, mountPath: `${HOST_ROOT}${path}`, readOnly: true },
  };
}

export interface CaptureJobInput {
  checkpoint: PodCheckpoint;
  pod: KubeObject & { spec?: { nodeName?: string } };
  targets: CaptureTarget[];
  location: S3Location;
  config: Config;
  /** Who asked (default: {@link requesterOf} the checkpoint, which needs its managedFields). */
  requester?: string;
}

export function buildCaptureJob({
  checkpoint,
  pod,
  targets,
  location,
  config,
  requester,
}: CaptureJobInput): JobObject {
  const name = captureJobName(checkpoint);
  const namespace = config.workerNamespace;
  const socketPath = config.criEndpoint.replace(/^unix:\/\//, '');
  const mounts = [
    hostMount('proc', '/proc', 'Directory'),
    hostMount('pod-logs', '/var/log/pods', 'Directory'),
    hostMount('containerd', '/var/lib/containerd', 'DirectoryOrCreate'),
    hostMount('cri-socket', socketPath, 'Socket'),
  ];
  const labels = {
    [LABELS.name]: 'kube-forensics',
    [LABELS.component]: 'capture-worker',
    [LABELS.managedBy]: 'kube-forensics',
    [LABELS.checkpointNamespace]: checkpoint.metadata.namespace ?? '',
    [LABELS.checkpointName]: (checkpoint.metadata.name ?? '').slice(0, 63),
    [LABELS.checkpointUid]: checkpoint.metadata.uid ?? '',
  };
  const env: Record<string, string> = {
    [WORKER_ENV.checkpointName]: checkpoint.metadata.name ?? '',
    [WORKER_ENV.checkpointNamespace]: checkpoint.metadata.namespace ?? '',
    [WORKER_ENV.checkpointUid]: checkpoint.metadata.uid ?? '',
    [WORKER_ENV.podName]: pod.metadata.name ?? '',
    [WORKER_ENV.podNamespace]: pod.metadata.namespace ?? '',
    [WORKER_ENV.podUid]: pod.metadata.uid ?? '',
    [WORKER_ENV.nodeName]: pod.spec?.nodeName ?? '',
    [WORKER_ENV.bucket]: location.bucket,
    [WORKER_ENV.keyPrefix]: location.prefix,
    [WORKER_ENV.containers]: JSON.stringify(targets),
    [WORKER_ENV.requester]: requester ?? requesterOf(checkpoint),
    [WORKER_ENV.criEndpoint]: `unix://${HOST_ROOT}${socketPath}`,
    [WORKER_ENV.hostRoot]: HOST_ROOT,
    ...(config.workerAwsRegion ? { AWS_REGION: config.workerAwsRegion } : {}),
  };
  const sameNamespace = checkpoint.metadata.namespace === namespace;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace,
      labels,
      // Owner references cannot cross namespaces (upstream set one anyway, and the garbage collector
      // could delete the Job early); across namespaces a finalizer on the request cleans up instead.
      ...(sameNamespace
        ? {
            ownerReferences: [
              {
                apiVersion: `${PodCheckpoints.group}/${PodCheckpoints.version}`,
                kind: PodCheckpoints.kind,
                name: checkpoint.metadata.name!,
                uid: checkpoint.metadata.uid!,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      backoffLimit: config.jobBackoffLimit,
      activeDeadlineSeconds: config.jobDeadlineSeconds,
      ttlSecondsAfterFinished: config.jobTtlSeconds,
      template: {
        metadata: { labels },
        spec: {
          nodeName: pod.spec?.nodeName,
          restartPolicy: 'Never',
          serviceAccountName: config.workerServiceAccount,
          hostNetwork: config.workerHostNetwork,
          ...(config.workerPriorityClass ? { priorityClassName: config.workerPriorityClass } : {}),
          tolerations: [{ operator: 'Exists' }],
          securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
          volumes: mounts.map((m) => m.volume),
          containers: [
            {
              name: WORKER_CONTAINER,
              image: config.workerImage,
              imagePullPolicy: 'IfNotPresent',
              command: ['/nodejs/bin/node', '/app/dist/worker.js'],
              env: Object.entries(env).map(([k, value]) => ({ name: k, value })),
              volumeMounts: mounts.map((m) => m.mount),
              terminationMessagePolicy: 'FallbackToLogsOnError',
              resources: {
                requests: { cpu: '100m', memory: '128Mi', 'ephemeral-storage': '64Mi' },
                limits: { memory: '512Mi', 'ephemeral-storage': '256Mi' },
              },
              securityContext: {
                runAsUser: 0,
                runAsNonRoot: false,
                privileged: false,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH', 'SYS_PTRACE'] },
              },
            },
          ],
        },
      },
    },
  };
}
