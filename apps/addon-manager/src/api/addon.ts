/**
 * The Addon API (`addonmgr.keikoproj.io/v1alpha1`), written once in TypeBox: the static types the
 * controller uses and the CRD the chart ships both come from here.
 *
 * Field names, meanings and printer columns are upstream's, so upstream Addons apply unchanged.
 * Additions are optional: status conditions, observedGeneration, the retry token honoured, the
 * workflows of the current run. Fields upstream declared but never used (overrides, secrets[].cmd,
 * role, workflowRole, validate) are still accepted and documented as no-ops.
 */
import type { KubeObject } from '@keiko/operator-kit';
import { ageColumn, defineCrd, PreserveUnknownFields, withValidations } from '@keiko/operator-kit/crd';
import { type Static, Type } from '@sinclair/typebox';

export const GROUP = 'addonmgr.keikoproj.io';
export const VERSION = 'v1alpha1';
export const Addons = {
  group: GROUP,
  version: VERSION,
  plural: 'addons',
  kind: 'Addon',
  namespaced: true,
} as const;

/** Names the controller injects as workflow parameters: an addon must not declare them again. */
export const RESERVED_PARAMETERS = [
  'namespace',
  'clusterName',
  'clusterRegion',
  'pkgName',
  'pkgVersion',
  'pkgType',
  'pkgDescription',
  'pkgChannel',
] as const;

const MAX_TEMPLATE = 262_144;

/** Upstream's FlexString: JSON strings, booleans and integers, all turned into strings. */
const FlexMap = (description: string) =>
  Type.Optional(
    withValidations(
      Type.Record(
        Type.String(),
        Type.Unsafe<string | number | boolean>({
          'x-kubernetes-int-or-string': true,
          description: 'A string or an integer (booleans are accepted by upstream as strings: quote them).',
        }),
        { description, maxProperties: 256 },
      ),
      {
        rule: `!self.exists(k, k in [${RESERVED_PARAMETERS.map((p) => `'${p}'`).join(', ')}])`,
        message: `must not redefine a parameter the controller injects (${RESERVED_PARAMETERS.join(', ')})`,
      },
    ),
  );

export const WorkflowType = withValidations(
  Type.Object(
    {
      namePrefix: Type.Optional(
        Type.String({
          description: 'Goes into the workflow name, as upstream.',
          maxLength: 10,
          pattern: '^[a-z0-9-]*$',
        }),
      ),
      role: Type.Optional(
        Type.String({ description: 'Accepted for compatibility; no effect (KIAM removed upstream).' }),
      ),
      workflowRole: Type.Optional(Type.String({ description: 'Accepted for compatibility; no effect.' })),
      template: Type.String({
        description: 'A complete Argo Workflow (argoproj.io/v1alpha1 kind Workflow) as YAML.',
        maxLength: MAX_TEMPLATE,
      }),
    },
    { description: 'An Argo Workflow run for one lifecycle step.' },
  ),
  {
    rule: "self.template.matches('(?m)^kind:[ \\t]*[\"\\']?Workflow[\"\\']?[ \\t]*$')",
    message: 'template must be an Argo Workflow (kind: Workflow)',
    fieldPath: '.template',
  },
  {
    rule: "self.template.matches('(?m)^apiVersion:[ \\t]*[\"\\']?argoproj.io/v1alpha1[\"\\']?[ \\t]*$')",
    message: 'template must have apiVersion: argoproj.io/v1alpha1',
    fieldPath: '.template',
  },
);

export const LabelSelector = Type.Object(
  {
    matchLabels: Type.Optional(
      Type.Record(Type.String(), Type.String({ description: 'Label value.' }), {
        description: 'Labels to match.',
      }),
    ),
    matchExpressions: Type.Optional(
      Type.Array(
        Type.Object(
          {
            key: Type.String({ description: 'Label key.' }),
            operator: Type.String({ description: 'In, NotIn, Exists or DoesNotExist.' }),
            values: Type.Optional(
              Type.Array(Type.String({ description: 'Value.' }), { description: 'Values.' }),
            ),
          },
          { description: 'A label selector requirement.' },
        ),
        { description: 'Label selector requirements.' },
      ),
    ),
  },
  {
    description: 'Selects the workloads the addon deploys, in params.namespace (listed in status.resources).',
  },
);

export const AddonSpec = Type.Object(
  {
    pkgName: Type.String({
      description: 'Package name: identity for dependencies.',
      minLength: 1,
      maxLength: 253,
    }),
    pkgVersion: Type.String({
      description: 'Package version (semver for range dependencies).',
      minLength: 1,
      maxLength: 128,
    }),
    pkgType: Type.String({
      description: 'composite, helm, ship, kustomize or cnab: informational, as upstream.',
      maxLength: 64,
    }),
    pkgDescription: Type.String({ description: 'Free text.', maxLength: 4096 }),
    pkgChannel: Type.Optional(
      Type.String({ description: 'Free text, injected as a parameter.', maxLength: 256 }),
    ),
    pkgDeps: Type.Optional(
      Type.Record(
        Type.String(),
        Type.String({
          description: 'Exact version, semver range, or * (any Succeeded version).',
          maxLength: 256,
        }),
        { description: 'Dependencies: pkgName -> version requirement.', maxProperties: 64 },
      ),
    ),
    params: Type.Object(
      {
        namespace: Type.String({
          description: 'Target namespace of the addon (injected as the namespace parameter).',
          minLength: 1,
          maxLength: 63,
          pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
        }),
        context: Type.Optional(
          Type.Object(
            {
              clusterName: Type.Optional(Type.String({ description: 'Injected as clusterName.' })),
              clusterRegion: Type.Optional(Type.String({ description: 'Injected as clusterRegion.' })),
              additionalConfigs: FlexMap('Extra parameters.'),
            },
            { description: 'Cluster context injected as parameters.' },
          ),
        ),
        data: FlexMap('Extra parameters.'),
      },
      { description: 'Parameters injected into every workflow.' },
    ),
    selector: Type.Optional(LabelSelector),
    lifecycle: Type.Optional(
      Type.Object(
        {
          prereqs: Type.Optional(WorkflowType),
          install: Type.Optional(WorkflowType),
          delete: Type.Optional(WorkflowType),
          validate: Type.Optional(WorkflowType),
        },
        {
          description: 'Workflows per step: prereqs then install; delete on removal; validate is never run.',
        },
      ),
    ),
    overrides: Type.Optional(
      PreserveUnknownFields({ description: 'Accepted for compatibility; never read.' }),
    ),
    secrets: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({
              description: 'A Secret that must exist in params.namespace before install.',
            }),
            cmd: Type.Optional(Type.Integer({ description: 'Accepted for compatibility; never read.' })),
            args: Type.Optional(
              Type.Array(Type.String({ description: 'Argument.' }), { description: 'Never read.' }),
            ),
          },
          { description: 'A required secret.' },
        ),
        { description: 'Secrets that must exist before install.', maxItems: 64 },
      ),
    ),
  },
  { description: 'An addon package, its parameters, dependencies and lifecycle workflows.' },
);

const Condition = Type.Object(
  {
    type: Type.String({ description: 'Ready, Progressing, Degraded, DependenciesMet, ResourcesReady.' }),
    status: Type.String({ description: 'True, False or Unknown.' }),
    reason: Type.String({ description: 'CamelCase reason.' }),
    message: Type.String({ description: 'Human-readable detail.' }),
    lastTransitionTime: Type.String({ description: 'When status last changed.' }),
    observedGeneration: Type.Optional(Type.Integer({ description: 'Generation this condition describes.' })),
  },
  { description: 'A metav1.Condition.' },
);

export const AddonStatus = Type.Object(
  {
    lifecycle: Type.Optional(
      Type.Object(
        {
          prereqs: Type.Optional(Type.String({ description: 'Pending, Succeeded or Failed.' })),
          installed: Type.Optional(
            Type.String({
              description:
                'Pending, Succeeded, Failed, Validation Failed, Deleting, Delete Failed, Delete Succeeded (upstream strings).',
            }),
          ),
        },
        { description: 'Phase of each step.' },
      ),
    ),
    checksum: Type.Optional(Type.String({ description: 'Hash of the spec the phases belong to.' })),
    resources: Type.Optional(
      Type.Array(
        Type.Object(
          {
            link: Type.Optional(
              Type.String({ description: 'Unused (selfLink is gone); kept for compatibility.' }),
            ),
            name: Type.String({ description: 'Object name.' }),
            kind: Type.String({ description: 'Deployment, DaemonSet, StatefulSet or Job.' }),
            group: Type.String({ description: 'API group.' }),
            status: Type.String({ description: 'Ready, InProgress or Failed.' }),
          },
          { description: 'A workload deployed by the addon.' },
        ),
        { description: 'Workloads found by the selector in params.namespace.' },
      ),
    ),
    reason: Type.Optional(Type.String({ description: 'Why the addon is Pending or failed.' })),
    starttime: Type.Optional(
      Type.Integer({ description: 'Milliseconds since the epoch when this run started.' }),
    ),
    observedGeneration: Type.Optional(Type.Integer({ description: 'metadata.generation last reconciled.' })),
    retry: Type.Optional(
      Type.String({ description: 'The addonmgr.keikoproj.io/retry annotation value last honoured.' }),
    ),
    adoptedChecksum: Type.Optional(
      Type.String({ description: 'Upstream checksum adopted without a re-run.' }),
    ),
    workflows: Type.Optional(
      Type.Record(Type.String(), Type.String({ description: 'Workflow name.' }), {
        description: 'Workflow of each step of the current run.',
      }),
    ),
    conditions: Type.Optional(Type.Array(Condition, { description: 'Standard conditions.' })),
  },
  { description: 'Observed state, written by the Addon reconciler only.' },
);

export type AddonSpec = Static<typeof AddonSpec>;
export type AddonStatus = Static<typeof AddonStatus>;
export type WorkflowStep = Static<typeof WorkflowType>;
export interface Addon extends KubeObject {
  spec: AddonSpec;
  status?: AddonStatus;
}

export const addonCrd = defineCrd({
  group: GROUP,
  kind: 'Addon',
  plural: 'addons',
  versions: [
    {
      name: VERSION,
      description: 'An Addon is a cluster addon installed, upgraded and removed through Argo Workflows.',
      spec: AddonSpec,
      status: AddonStatus,
      printerColumns: [
        { name: 'PACKAGE', type: 'string', jsonPath: '.spec.pkgName' },
        { name: 'VERSION', type: 'string', jsonPath: '.spec.pkgVersion' },
        { name: 'STATUS', type: 'string', jsonPath: '.status.lifecycle.installed' },
        { name: 'REASON', type: 'string', jsonPath: '.status.reason' },
        ageColumn(),
      ],
    },
  ],
});
