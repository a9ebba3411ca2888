/**
 * The PodCheckpoint API (`forensics.keikoproj.io/v1alpha1`), written once in TypeBox: the static types
 * the controller and the worker use and the CRD the chart ships both come from here.
 *
 * Upstream's spec (`pod`, `namespace`, `destination`, `subpath`) and status counters (`startTime`,
 * `completionTime`, `active`, `succeeded`, `failed`, `Complete`/`Failed` conditions) keep their names
 * and meanings, so upstream manifests apply unchanged. What upstream never checked is checked at
 * admission with a message naming the field: `destination` must be `s3://bucket[/prefix]`, `pod` is
 * required, and the spec is immutable (upstream silently ignored edits once its Job existed).
 * New fields are additive and optional: `spec.containers`, `status.phase`, per-artifact results.
 */
import type { KubeObject } from '@keiko/operator-kit';
import { ageColumn, defineCrd, ListSet, StringEnum, withValidations } from '@keiko/operator-kit/crd';
import { type Static, Type } from '@sinclair/typebox';

export const GROUP = 'forensics.keikoproj.io';
export const VERSION = 'v1alpha1';
export const PodCheckpoints = {
  group: GROUP,
  version: VERSION,
  plural: 'podcheckpoints',
  kind: 'PodCheckpoint',
  namespaced: true,
} as const;

/** `s3://bucket[/prefix]`: a DNS-compatible bucket name, an optional key prefix. */
export const DESTINATION_PATTERN = '^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\\s]*)?$';
/** Where the worker puts the capture when `subpath` is not set (upstream's default). */
export const DEFAULT_SUBPATH = 'forensics';

export const PodCheckpointSpec = withValidations(
  Type.Object(
    {
      pod: Type.String({ description: 'Name of the pod to capture.', minLength: 1, maxLength: 253 }),
      namespace: Type.Optional(
        Type.String({
          description:
            "Namespace of the pod to capture (not of this object); default: this object's namespace.",
          maxLength: 63,
        }),
      ),
      destination: Type.String({
        description: 'S3 location of the capture, s3://bucket[/prefix].',
        maxLength: 1024,
      }),
      subpath: Type.Optional(
        Type.String({
          description: `Key prefix below the destination (default "${DEFAULT_SUBPATH}").`,
          maxLength: 512,
        }),
      ),
      containers: Type.Optional(
        ListSet(Type.String({ description: 'Container name.', maxLength: 253 }), {
          description:
            'Containers to capture (init and ephemeral containers included); default: every container of the pod.',
          maxItems: 64,
        }),
      ),
      isolate: Type.Optional(
        Type.Object(
          {
            label: Type.Optional(
              Type.Boolean({
                description: `Label the pod ${'forensics.keikoproj.io/quarantine=true'} so a quarantine NetworkPolicy selects it.`,
              }),
            ),
            cordon: Type.Optional(
              Type.Boolean({ description: "Cordon the pod's node so nothing new is scheduled there." }),
            ),
          },
          {
            description:
              'Isolation applied before the capture (needs the controller flag --allow-isolation).',
          },
        ),
      ),
    },
    { description: 'Which pod to capture and where to put the evidence. Immutable.' },
  ),
  {
    rule: `self.destination.matches('${DESTINATION_PATTERN.replaceAll('\\', '\\\\')}')`,
    message: 'destination must be s3://bucket[/prefix] (a lower-case bucket name of 3-63 characters)',
    fieldPath: '.destination',
    reason: 'FieldValueInvalid',
  },
  {
    rule: "!has(self.subpath) || (!self.subpath.startsWith('/') && !self.subpath.contains('..'))",
    message: 'subpath must be a relative key prefix without ".."',
    fieldPath: '.subpath',
    reason: 'FieldValueInvalid',
  },
);
export type PodCheckpointSpec = Static<typeof PodCheckpointSpec>;

export const PHASES = ['Pending', 'Scheduled', 'Capturing', 'Uploading', 'Succeeded', 'Failed'] as const;
export type Phase = (typeof PHASES)[number];
export const TERMINAL_PHASES: readonly Phase[] = ['Succeeded', 'Failed'];

const Condition = Type.Object(
  {
    type: Type.String({ description: 'Accepted, Isolated, Complete, Failed or Ready.', maxLength: 316 }),
    status: StringEnum(['True', 'False', 'Unknown'], { description: 'True, False or Unknown.' }),
    reason: Type.Optional(Type.String({ description: 'CamelCase reason.', maxLength: 1024 })),
    message: Type.Optional(Type.String({ description: 'Human-readable detail.', maxLength: 32_768 })),
    observedGeneration: Type.Optional(
      Type.Integer({ description: 'Generation the condition was computed from.' }),
    ),
    lastProbeTime: Type.Optional(
      Type.String({ description: 'Upstream field, kept for compatibility.', format: 'date-time' }),
    ),
    lastTransitionTime: Type.Optional(
      Type.String({ description: 'When the status last changed.', format: 'date-time' }),
    ),
  },
  { description: 'A metav1.Condition.' },
);

/** One captured file, as the worker uploaded it. */
export const ArtifactResult = Type.Object(
  {
    name: Type.String({
      description: 'Artifact kind: pod, events, sandbox-inspect, inspect, logs, fs-diff, process.',
    }),
    container: Type.Optional(
      Type.String({ description: 'Container it belongs to (none for pod-level artifacts).' }),
    ),
    key: Type.Optional(Type.String({ description: 'S3 key of the uploaded object.' })),
    size: Type.Optional(Type.Integer({ description: 'Bytes uploaded.' })),
    sha256: Type.Optional(Type.String({ description: 'Hex SHA-256 of the uploaded bytes.' })),
    mandatory: Type.Optional(Type.Boolean({ description: 'A failure of this artifact fails the capture.' })),
    error: Type.Optional(Type.String({ description: 'Why the artifact could not be captured.' })),
  },
  { description: 'Result of one artifact.' },
);
export type ArtifactResult = Static<typeof ArtifactResult>;

/** What the worker reports while it runs (the worker owns these fields through server-side apply). */
export const WorkerReport = Type.Object(
  {
    stage: StringEnum(['Capturing', 'Uploading', 'Succeeded', 'Failed'], {
      description: 'Where the worker is.',
    }),
    message: Type.Optional(Type.String({ description: 'Detail, e.g. the failed artifacts.' })),
    reason: Type.Optional(Type.String({ description: 'CamelCase reason of a failure.' })),
    manifestKey: Type.Optional(Type.String({ description: 'S3 key of manifest.json.' })),
    bytesUploaded: Type.Optional(Type.Integer({ description: 'Bytes uploaded so far.' })),
    startedAt: Type.Optional(Type.String({ description: 'When the worker started.', format: 'date-time' })),
    finishedAt: Type.Optional(Type.String({ description: 'When the worker finished.', format: 'date-time' })),
    artifacts: Type.Optional(Type.Array(ArtifactResult, { description: 'Per-artifact results.' })),
  },
  { description: "The capture worker's own report." },
);
export type WorkerReport = Static<typeof WorkerReport>;

export const PodCheckpointStatus = Type.Object(
  {
    phase: Type.Optional(
      StringEnum([...PHASES], {
        description: 'Pending, Scheduled, Capturing, Uploading, Succeeded or Failed.',
      }),
    ),
    observedGeneration: Type.Optional(Type.Integer({ description: 'Generation last reconciled.' })),
    conditions: Type.Optional(
      Type.Array(Condition, { description: 'Accepted, Isolated, Complete, Failed, Ready.' }),
    ),
    startTime: Type.Optional(
      Type.String({ description: 'When the capture Job was created.', format: 'date-time' }),
    ),
    completionTime: Type.Optional(
      Type.String({ description: 'When the request ended.', format: 'date-time' }),
    ),
    active: Type.Optional(
      Type.Integer({ description: 'Running pods of the capture Job (upstream counter).' }),
    ),
    succeeded: Type.Optional(
      Type.Integer({ description: 'Succeeded pods of the capture Job (upstream counter).' }),
    ),
    failed: Type.Optional(
      Type.Integer({ description: 'Failed pods of the capture Job (upstream counter).' }),
    ),
    nodeName: Type.Optional(Type.String({ description: 'Node the pod and the capture Job run on.' })),
    jobName: Type.Optional(Type.String({ description: 'Name of the capture Job.' })),
    jobNamespace: Type.Optional(Type.String({ description: 'Namespace of the capture Job.' })),
    location: Type.Optional(Type.String({ description: 's3:// URI of the capture directory.' })),
    worker: Type.Optional(WorkerReport),
  },
  { description: 'Observed state of the capture.' },
);
export type PodCheckpointStatus = Static<typeof PodCheckpointStatus>;

export interface PodCheckpoint extends KubeObject {
  spec: PodCheckpointSpec;
  status?: PodCheckpointStatus;
}

export const podCheckpointCrd = defineCrd({
  group: GROUP,
  kind: 'PodCheckpoint',
  plural: 'podcheckpoints',
  shortNames: ['pcp'],
  categories: ['keiko'],
  versions: [
    {
      name: VERSION,
      description:
        "A request to capture a running pod's state (runtime inspect, logs, filesystem diff, processes) to S3.",
      spec: PodCheckpointSpec,
      status: PodCheckpointStatus,
      requireSpec: true,
      validations: [
        {
          rule: 'self.spec == oldSelf.spec',
          message: 'spec is immutable: create a new PodCheckpoint to capture again',
          fieldPath: '.spec',
        },
      ],
      printerColumns: [
        { name: 'Pod', type: 'string', jsonPath: '.spec.pod' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Node', type: 'string', jsonPath: '.status.nodeName', priority: 1 },
        { name: 'Location', type: 'string', jsonPath: '.status.location', priority: 1 },
        ageColumn(),
      ],
    },
  ],
});
