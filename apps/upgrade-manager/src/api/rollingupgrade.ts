/**
 * The RollingUpgrade API (`upgrademgr.keikoproj.io/v1alpha1`), written once in TypeBox: the static
 * types the controller uses and the CRD the chart ships both come from here.
 *
 * Upstream field names and meanings are kept so upstream CRs apply unchanged; what upstream checked
 * only at reconcile time (strategy enums, maxUnavailable range, drainTimeout >= -1) is checked at
 * admission, with messages naming the field. New fields are additive and optional.
 */
import type { KubeObject } from '@keiko/operator-kit';
import { ageColumn, defineCrd, IntOrString, StringEnum, withValidations } from '@keiko/operator-kit/crd';
import { type Static, Type } from '@sinclair/typebox';

export const GROUP = 'upgrademgr.keikoproj.io';
export const VERSION = 'v1alpha1';
export const RollingUpgrades = {
  group: GROUP,
  version: VERSION,
  plural: 'rollingupgrades',
  kind: 'RollingUpgrade',
  namespaced: true,
} as const;

const Seconds = (description: string, minimum = 0) =>
  Type.Optional(Type.Integer({ description, minimum, maximum: 31_536_000 }));
const Script = (description: string) => Type.Optional(Type.String({ description, maxLength: 65_536 }));

/** What a hook Job runs; upstream's `script` alone still works (it runs in the default image). */
const HookJobFields = {
  image: Type.Optional(
    Type.String({
      description: 'Image of the hook Job (default: the controller flag --hook-image).',
      maxLength: 512,
    }),
  ),
  command: Type.Optional(
    Type.Array(Type.String({ description: 'Argument.', maxLength: 4096 }), {
      description: 'Command of the hook Job; overrides script.',
      maxItems: 64,
    }),
  ),
  env: Type.Optional(
    Type.Array(
      Type.Object(
        {
          name: Type.String({ description: 'Variable name.', minLength: 1, maxLength: 256 }),
          value: Type.String({ description: 'Value.', maxLength: 32_768 }),
        },
        { description: 'An environment variable.' },
      ),
      {
        description:
          'Extra environment of the hook Job, besides ASG_NAME, INSTANCE_ID and INSTANCE_NAME (which always win).',
        maxItems: 64,
      },
    ),
  ),
  serviceAccountName: Type.Optional(
    Type.String({
      description:
        "ServiceAccount of the hook Job's pod (in the hook namespace; default: that namespace's default).",
      maxLength: 253,
    }),
  ),
  nodeSelector: Type.Optional(
    Type.Record(Type.String(), Type.String({ description: 'Label value.', maxLength: 63 }), {
      description: "Node labels the hook Job's pod must run on.",
    }),
  ),
  timeoutSeconds: Seconds('Seconds the hook Job may run before the step fails (default 600).', 1),
  ignoreFailure: Type.Optional(
    Type.Boolean({
      description:
        'A failed or timed-out hook Job is reported (event) and the instance goes on; default false: the roll pauses.',
    }),
  ),
};

export const StrategyType = StringEnum(['randomUpdate', 'uniformAcrossAzUpdate'], {
  description: 'How a batch is picked: randomUpdate, or uniformAcrossAzUpdate (round-robin across zones).',
});
export const StrategyMode = StringEnum(['lazy', 'eager'], {
  description:
    'lazy: drain and terminate, the ASG launches the replacement. eager: the old instances go to Standby so replacements come up first; once they are Ready the old ones are drained and terminated.',
});

export const RollingUpgradeStrategy = Type.Object(
  {
    type: Type.Optional(StrategyType),
    mode: Type.Optional(StrategyMode),
    maxUnavailable: Type.Optional(
      withValidations(
        IntOrString({
          description:
            'Batch size: a count, or a percentage of the desired capacity rounded up. 0 means 1. Default 1.',
        }),
        {
          rule: "type(self) == int ? self >= 0 : self.matches('^(100|[1-9][0-9]?)%$') || self.matches('^[0-9]+$')",
          message:
            'spec.strategy.maxUnavailable must be a non-negative count or a percentage from 1% to 100%',
        },
      ),
    ),
    drainTimeout: Type.Optional(
      Type.Integer({
        description:
          'Seconds a drain may take. Absent: the controller flag --drain-timeout. 0 or -1: wait forever (PDBs are honoured).',
        minimum: -1,
        maximum: 31_536_000,
      }),
    ),
  },
  { description: 'How instances are picked and replaced.' },
);

export const RollingUpgradeSpec = Type.Object(
  {
    asgName: Type.String({
      description: 'Name of the Auto Scaling group to roll.',
      minLength: 1,
      maxLength: 255,
    }),
    strategy: Type.Optional(RollingUpgradeStrategy),
    nodeIntervalSeconds: Seconds(
      'Minimum seconds after the last termination before the next batch is drained.',
    ),
    postDrainDelaySeconds: Seconds('Minimum seconds after the last drain before the next drain starts.'),
    ignoreDrainFailures: Type.Optional(
      Type.Boolean({
        description: 'Terminate even when a drain fails or times out (default: the controller flag).',
      }),
    ),
    forceRefresh: Type.Optional(
      Type.Boolean({
        description: 'Replace every instance whose node was created before this RollingUpgrade.',
      }),
    ),
    readinessGates: Type.Optional(
      Type.Array(
        Type.Object(
          {
            matchLabels: Type.Optional(
              Type.Record(Type.String(), Type.String({ description: 'Label value.', maxLength: 63 }), {
                description: 'Labels a replacement node must carry to count as ready.',
              }),
            ),
          },
          { description: 'A label gate.' },
        ),
        {
          description: 'Eager mode: labels a new node needs, besides Ready=True, to count as ready.',
          maxItems: 16,
        },
      ),
    ),
    preDrain: Type.Optional(
      Type.Object(
        { script: Script('Shell script run (as a Job) before the drain.'), ...HookJobFields },
        { description: 'Hook before the drain.' },
      ),
    ),
    postDrain: Type.Optional(
      Type.Object(
        {
          script: Script('Shell script run (as a Job) after the drain.'),
          waitSeconds: Type.Optional(
            Type.Integer({
              description: 'Upstream field, never read by upstream either; accepted and ignored.',
            }),
          ),
          postWaitScript: Script('Shell script run (as a Job) after the postDrain script.'),
          ...HookJobFields,
        },
        { description: 'Hooks after the drain.' },
      ),
    ),
    postTerminate: Type.Optional(
      Type.Object(
        { script: Script('Shell script run (as a Job) after the terminate call.'), ...HookJobFields },
        { description: 'Hook after the termination.' },
      ),
    ),
    // New, additive fields.
    paused: Type.Optional(
      Type.Boolean({ description: 'Stop starting new batches; steps in flight finish.' }),
    ),
    dryRun: Type.Optional(
      Type.Boolean({ description: 'Compute the plan into status.plan and change nothing.' }),
    ),
    ttlSecondsAfterFinished: Seconds(
      'Delete the RollingUpgrade this many seconds after it completed or failed.',
    ),
    replacementReadyTimeoutSeconds: Seconds(
      'Seconds a replacement instance may take to become a Ready node before the roll pauses (default 600).',
      1,
    ),
    neverJoinedTimeoutSeconds: Seconds(
      'Seconds after launch an instance that predates the roll may stay without a node before neverJoinedAction applies (default 600).',
      1,
    ),
    neverJoinedAction: Type.Optional(
      StringEnum(['replace', 'fail'], {
        description: 'For an instance that never joined: replace it (default) or fail the roll.',
      }),
    ),
  },
  { description: 'Which Auto Scaling group to roll, and how.' },
);

export const InstancePhase = StringEnum(
  ['Selected', 'Standby', 'Draining', 'Terminating', 'Terminated', 'Failed'],
  { description: 'Where the instance is in its replacement.' },
);

export const HookName = StringEnum(['preDrain', 'postDrain', 'postWait', 'postTerminate'], {
  description:
    'preDrain, postDrain (postDrain.script), postWait (postDrain.postWaitScript) or postTerminate.',
});

const Time = (description: string) => Type.Optional(Type.String({ description, format: 'date-time' }));

export const InstanceProgress = Type.Object(
  {
    instanceId: Type.String({ description: 'EC2 instance id.' }),
    nodeName: Type.Optional(Type.String({ description: 'Node name when it has one.' })),
    availabilityZone: Type.Optional(Type.String({ description: 'Availability zone.' })),
    driftReason: Type.Optional(Type.String({ description: 'Why the instance is replaced.' })),
    phase: InstancePhase,
    phaseSince: Time('When the instance entered its phase.'),
    message: Type.Optional(Type.String({ description: 'Detail of the last step (drain outcome, error).' })),
    terminationTime: Time('When TerminateInstanceInAutoScalingGroup was called for it.'),
    hooks: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: HookName,
            job: Type.String({ description: "Name of the hook Job (in the controller's hook namespace)." }),
            result: StringEnum(['Running', 'Succeeded', 'Failed', 'Ignored'], {
              description:
                'Running, Succeeded, Failed (the roll pauses) or Ignored (failed, ignoreFailure set).',
            }),
            message: Type.Optional(Type.String({ description: 'Why it failed.' })),
          },
          { description: 'One hook Job run for this instance.' },
        ),
        { description: 'Hook Jobs run for this instance, in order.' },
      ),
    ),
  },
  { description: 'Progress of one instance being replaced.' },
);

const Condition = Type.Object(
  {
    type: Type.String({ description: 'Condition type.' }),
    status: Type.String({ description: 'True, False or Unknown.' }),
    reason: Type.Optional(Type.String({ description: 'Machine-readable reason.' })),
    message: Type.Optional(Type.String({ description: 'Human-readable detail.' })),
    observedGeneration: Type.Optional(
      Type.Integer({ description: 'Generation the condition was computed from.' }),
    ),
    lastTransitionTime: Time('When the status last changed.'),
  },
  { description: 'A condition.' },
);

export const RollingUpgradeStatus = Type.Object(
  {
    currentStatus: Type.Optional(
      Type.String({ description: 'init, running, completed or error (upstream values).' }),
    ),
    startTime: Time('When processing started.'),
    endTime: Time('When processing ended.'),
    totalProcessingTime: Type.Optional(
      Type.String({ description: 'Duration from start to end (Go-style, e.g. 4m2s).' }),
    ),
    totalNodes: Type.Optional(Type.Integer({ description: 'Desired capacity of the ASG.' })),
    nodesProcessed: Type.Optional(
      Type.Integer({ description: 'Desired capacity minus instances still drifted.' }),
    ),
    completePercentage: Type.Optional(Type.String({ description: 'nodesProcessed / totalNodes as "NN%".' })),
    conditions: Type.Optional(
      Type.Array(Condition, { description: 'Ready, Progressing, Paused, Complete.' }),
    ),
    lastTerminationTime: Time('Last termination; gates nodeIntervalSeconds.'),
    lastDrainTime: Time('Last drain; gates postDrainDelaySeconds.'),
    lastBatchNodes: Type.Optional(
      Type.Array(Type.String({ description: 'Node name.' }), { description: 'Nodes of the current batch.' }),
    ),
    observedGeneration: Type.Optional(Type.Integer({ description: 'Generation last reconciled.' })),
    instances: Type.Optional(
      Type.Array(InstanceProgress, {
        description: 'Instances selected for replacement and how far each got.',
      }),
    ),
    drifted: Type.Optional(
      Type.Array(
        Type.Object(
          {
            instanceId: Type.String({ description: 'EC2 instance id.' }),
            reason: Type.String({ description: 'Why it drifted.' }),
          },
          { description: 'A drifted instance.' },
        ),
        { description: 'Instances still to replace, with the reason.' },
      ),
    ),
    plan: Type.Optional(
      Type.Array(Type.Array(Type.String({ description: 'Instance id.' }), { description: 'One batch.' }), {
        description: 'dryRun: the batches the roll would take, in order.',
      }),
    ),
  },
  { description: 'Progress of the roll.' },
);

export type RollingUpgradeSpec = Static<typeof RollingUpgradeSpec>;
export type RollingUpgradeStatus = Static<typeof RollingUpgradeStatus>;
export type InstanceProgress = Static<typeof InstanceProgress>;
export type InstancePhase = Static<typeof InstancePhase>;
export type HookName = Static<typeof HookName>;
export type HookRecord = NonNullable<InstanceProgress['hooks']>[number];
/** The object as the controller sees it (operator-kit's metadata: timestamps are strings). */
export interface RollingUpgrade extends KubeObject {
  spec: RollingUpgradeSpec;
  status?: RollingUpgradeStatus;
}

export const rollingUpgradeCrd = defineCrd({
  group: GROUP,
  kind: 'RollingUpgrade',
  plural: 'rollingupgrades',
  shortNames: ['ru'],
  versions: [
    {
      name: VERSION,
      description:
        'A RollingUpgrade replaces the drifted instances of one Auto Scaling group, batch by batch.',
      spec: RollingUpgradeSpec,
      status: RollingUpgradeStatus,
      requireSpec: true,
      printerColumns: [
        { name: 'Status', type: 'string', jsonPath: '.status.currentStatus' },
        { name: 'TotalNodes', type: 'string', jsonPath: '.status.totalNodes' },
        { name: 'NodesProcessed', type: 'string', jsonPath: '.status.nodesProcessed' },
        { name: 'Complete', type: 'string', jsonPath: '.status.completePercentage' },
        ageColumn(),
      ],
    },
  ],
});
