/**
 * The InstanceGroup API (`instancemgr.keikoproj.io/v1alpha1`), upstream's fields and meanings, with
 * what upstream checked only at reconcile time moved to admission (schema + CEL rules whose
 * messages name the field). The same TypeBox schema gives the TypeScript types and the CRD.
 */
import type { KubeObject } from '@keiko/operator-kit';
import {
  ageColumn,
  defineCrd,
  IntOrString,
  PreserveUnknownFields,
  StringEnum,
  withValidations,
} from '@keiko/operator-kit/crd';
import { type Static, Type } from '@sinclair/typebox';

export const GROUP = 'instancemgr.keikoproj.io';
export const VERSION = 'v1alpha1';

const name = (description: string) => Type.String({ description, maxLength: 256 });
const opt = Type.Optional;

const Tag = Type.Object(
  { key: name('Tag key.'), value: Type.String({ description: 'Tag value.', maxLength: 256 }) },
  { description: 'An AWS tag.' },
);

const Taint = Type.Object(
  {
    key: name('Taint key.'),
    value: opt(Type.String({ description: 'Taint value.', maxLength: 256 })),
    effect: StringEnum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'], { description: 'Taint effect.' }),
  },
  { description: 'A node taint (core/v1 Taint).' },
);

export const VOLUME_TYPES = ['standard', 'io1', 'io2', 'gp2', 'gp3', 'sc1', 'st1'] as const;

const Volume = withValidations(
  Type.Object(
    {
      name: name('Device name, e.g. /dev/xvda.'),
      type: StringEnum(VOLUME_TYPES, { description: 'EBS volume type.' }),
      size: opt(Type.Integer({ description: 'Size in GiB.', minimum: 1, maximum: 65536 })),
      iops: opt(Type.Integer({ description: 'Provisioned IOPS (io1, io2, gp3).', minimum: 100 })),
      throughput: opt(
        Type.Integer({ description: 'Throughput in MiB/s (gp3).', minimum: 125, maximum: 2000 }),
      ),
      deleteOnTermination: opt(Type.Boolean({ description: 'Delete with the instance (default true).' })),
      encrypted: opt(Type.Boolean({ description: 'Encrypt the volume.' })),
      snapshotId: opt(name('Snapshot to create the volume from (excludes size).')),
      mountOptions: opt(
        Type.Object(
          {
            fileSystem: opt(StringEnum(['xfs', 'ext4'], { description: 'File system to create.' })),
            mount: opt(name('Mount path.')),
            persistance: opt(Type.Boolean({ description: 'Write an fstab entry (default true).' })),
          },
          { description: 'Format and mount the volume at boot.' },
        ),
      ),
    },
    { description: 'An EBS volume of the launch template.' },
  ),
  {
    rule: "!has(self.iops) || self.type in ['io1', 'io2', 'gp3']",
    message: 'iops is only valid for volume types io1, io2 and gp3',
    fieldPath: '.iops',
  },
  {
    rule: "!has(self.throughput) || self.type == 'gp3'",
    message: 'throughput is only valid for volume type gp3',
    fieldPath: '.throughput',
  },
  {
    rule: '!(has(self.snapshotId) && has(self.size))',
    message: 'snapshotId and size are mutually exclusive',
    fieldPath: '.snapshotId',
  },
);

const UserData = Type.Object(
  {
    name: opt(name('Name of the stage entry.')),
    stage: opt(
      StringEnum(['PreBootstrap', 'PostBootstrap', 'NodeConfigYaml'], {
        description: 'When it runs (default PreBootstrap).',
      }),
    ),
    data: Type.String({ description: 'Script or NodeConfig, plain text or base64.', maxLength: 16384 }),
  },
  { description: 'A user-data stage.' },
);

const LifecycleHook = Type.Object(
  {
    name: name('Hook name.'),
    lifecycle: StringEnum(['launch', 'terminate'], { description: 'Transition the hook holds.' }),
    defaultResult: opt(StringEnum(['ABANDON', 'CONTINUE'], { description: 'Result on timeout (ABANDON).' })),
    heartbeatTimeout: opt(
      Type.Integer({ description: 'Seconds (default 300).', minimum: 30, maximum: 7200 }),
    ),
    notificationArn: opt(name('Notification target ARN.')),
    roleArn: opt(name('Role ARN for the notification target.')),
    metadata: opt(Type.String({ description: 'Notification metadata.', maxLength: 1023 })),
  },
  { description: 'An ASG lifecycle hook.' },
);

const MixedInstancesPolicy = withValidations(
  Type.Object(
    {
      strategy: opt(
        StringEnum(['CapacityOptimized', 'LowestPrice'], { description: 'Spot allocation strategy.' }),
      ),
      spotPools: opt(Type.Integer({ description: 'Spot pools for LowestPrice.', minimum: 1, maximum: 20 })),
      baseCapacity: opt(Type.Integer({ description: 'On-demand base capacity.', minimum: 0 })),
      spotRatio: opt(IntOrString({ description: 'Share of spot above base capacity, 0-100 or 0%-100%.' })),
      instancePool: opt(StringEnum(['SubFamilyFlexible'], { description: 'Generated instance pool.' })),
      instanceTypes: opt(
        Type.Array(
          Type.Object(
            {
              type: name('Instance type.'),
              weight: opt(Type.Integer({ description: 'Capacity weight.', minimum: 1, maximum: 999 })),
            },
            { description: 'An instance type override.' },
          ),
          { description: 'Instance type overrides.', maxItems: 40 },
        ),
      ),
    },
    { description: 'Spot/on-demand mix (launch templates only).' },
  ),
  {
    rule: 'has(self.instancePool) != has(self.instanceTypes)',
    message: 'exactly one of instancePool and instanceTypes must be set',
    fieldPath: '.instancePool',
  },
  {
    rule: "!has(self.spotRatio) || (type(self.spotRatio) == int ? (int(self.spotRatio) >= 0 && int(self.spotRatio) <= 100) : string(self.spotRatio).matches('^(100|[1-9]?[0-9])%$'))",
    message: 'spotRatio must be between 0 and 100 (or 0% and 100%)',
    fieldPath: '.spotRatio',
  },
);

export const EksConfiguration = Type.Object(
  {
    clusterName: name('EKS cluster the nodes join.'),
    keyPairName: opt(name('EC2 key pair.')),
    image: name('AMI id, `latest`, or `ssm://<parameter>`.'),
    instanceType: name('Instance type.'),
    securityGroups: Type.Array(name('Security group id or Name tag.'), {
      description: 'Security groups by id or Name tag.',
      minItems: 1,
      maxItems: 16,
    }),
    subnets: Type.Array(name('Subnet id or Name tag.'), {
      description: 'Subnets by id or Name tag.',
      minItems: 1,
      maxItems: 64,
    }),
    volumes: opt(Type.Array(Volume, { description: 'EBS volumes.', maxItems: 16 })),
    suspendProcesses: opt(
      Type.Array(name('Process name or `all`.'), { description: 'ASG processes to suspend.', maxItems: 16 }),
    ),
    metricsCollection: opt(
      Type.Array(name('Metric name or `all`.'), { description: 'ASG metrics to collect.', maxItems: 16 }),
    ),
    bootstrapArguments: opt(Type.String({ description: 'Extra kubelet arguments.', maxLength: 4096 })),
    bootstrapOptions: opt(
      Type.Object(
        {
          maxPods: opt(Type.Integer({ description: 'Kubelet max pods.', minimum: 1, maximum: 1024 })),
          containerRuntime: opt(
            StringEnum(['dockerd', 'containerd'], { description: 'Container runtime (AL2).' }),
          ),
        },
        { description: 'Bootstrap options.' },
      ),
    ),
    spotPrice: opt(name('Maximum spot price.')),
    tags: opt(Type.Array(Tag, { description: 'ASG tags, propagated at launch.', maxItems: 50 })),
    tagSpecifications: opt(
      Type.Array(
        Type.Object(
          {
            resourceType: StringEnum(['instance', 'volume', 'network-interface', 'spot-instances-request'], {
              description: 'Resource type.',
            }),
            tags: opt(Type.Array(Tag, { description: 'Tags.', maxItems: 50 })),
          },
          { description: 'Launch template tag specification.' },
        ),
        { description: 'Launch template tag specifications.', maxItems: 4 },
      ),
    ),
    labels: opt(
      Type.Record(Type.String(), Type.String({ description: 'Label value.', maxLength: 63 }), {
        description: 'Node labels.',
      }),
    ),
    taints: opt(Type.Array(Taint, { description: 'Node taints.', maxItems: 50 })),
    userData: opt(Type.Array(UserData, { description: 'User-data stages.', maxItems: 20 })),
    roleName: opt(name('Existing IAM role for the nodes.')),
    instanceProfileName: opt(name('Existing instance profile for the nodes.')),
    nodeIdentity: opt(
      StringEnum(['aws-auth', 'access-entry'], {
        description:
          'How the node role is authorised in the cluster: an aws-auth mapping or an EKS access entry (default: the controller --node-identity, auto = access-entry on API-only clusters, else aws-auth).',
      }),
    ),
    managedPolicies: opt(
      Type.Array(name('Policy name or ARN.'), { description: 'Policies for the node role.', maxItems: 20 }),
    ),
    lifecycleHooks: opt(Type.Array(LifecycleHook, { description: 'Lifecycle hooks.', maxItems: 50 })),
    mixedInstancesPolicy: opt(MixedInstancesPolicy),
    licenseSpecifications: opt(
      Type.Array(name('License configuration ARN.'), { description: 'Licenses.', maxItems: 10 }),
    ),
    placement: opt(
      Type.Object(
        {
          availabilityZone: opt(name('Availability zone.')),
          hostResourceGroupArn: opt(name('Host resource group ARN.')),
          tenancy: opt(StringEnum(['default', 'dedicated', 'host'], { description: 'Tenancy.' })),
        },
        { description: 'Placement.' },
      ),
    ),
    metadataOptions: opt(
      Type.Object(
        {
          httpEndpoint: opt(StringEnum(['enabled', 'disabled'], { description: 'IMDS endpoint.' })),
          httpTokens: opt(
            StringEnum(['required', 'optional'], { description: 'IMDSv2 tokens (default required).' }),
          ),
          httpPutHopLimit: opt(Type.Integer({ description: 'PUT hop limit.', minimum: 1, maximum: 64 })),
        },
        { description: 'Instance metadata options.' },
      ),
    ),
  },
  { description: 'Launch and scaling configuration.' },
);

export const EksSpec = withValidations(
  Type.Object(
    {
      minSize: opt(Type.Integer({ description: 'ASG minimum size.', minimum: 0 })),
      maxSize: opt(Type.Integer({ description: 'ASG maximum size.', minimum: 0 })),
      type: opt(
        StringEnum(['LaunchTemplate', 'LaunchConfiguration'], {
          description:
            'Scaling configuration (LaunchTemplate; LaunchConfiguration is accepted, served as a template).',
        }),
      ),
      warmPool: opt(
        Type.Object(
          {
            minSize: opt(Type.Integer({ description: 'Warm pool minimum.', minimum: 0 })),
            maxSize: opt(Type.Integer({ description: 'Prepared capacity (-1: the ASG max).', minimum: -1 })),
          },
          { description: 'Warm pool.' },
        ),
      ),
      configuration: EksConfiguration,
    },
    { description: 'The self-managed ASG provisioner.' },
  ),
  {
    rule: '!has(self.minSize) || !has(self.maxSize) || self.minSize <= self.maxSize',
    message: 'minSize must not exceed maxSize',
    fieldPath: '.minSize',
  },
  {
    rule: '!has(self.warmPool) || !has(self.configuration.mixedInstancesPolicy)',
    message: 'warmPool cannot be combined with configuration.mixedInstancesPolicy',
    fieldPath: '.warmPool',
  },
);

export const CrdStrategy = Type.Object(
  {
    crdName: name('Plural name of the custom resource to create, e.g. rollingupgrades.'),
    spec: Type.String({
      description: 'The custom resource (YAML), Go-templated with .InstanceGroup.',
      maxLength: 65536,
    }),
    statusJSONPath: name('Path of the status field to watch, e.g. .status.currentStatus.'),
    statusSuccessString: name('Status value meaning success.'),
    statusFailureString: name('Status value meaning failure.'),
    concurrencyPolicy: opt(
      // Upstream compares case-insensitively and its docs write `Forbid`: both spellings are accepted.
      StringEnum(['forbid', 'allow', 'replace', 'Forbid', 'Allow', 'Replace'], {
        description: 'Another upgrade while one runs (forbid).',
      }),
    ),
    maxRetries: opt(
      Type.Integer({ description: 'Resubmissions after failure (3; -1 forever).', minimum: -1 }),
    ),
  },
  { description: 'Upgrade by creating a custom resource.' },
);

export const Strategy = withValidations(
  Type.Object(
    {
      type: opt(StringEnum(['rollingUpdate', 'crd', 'managed'], { description: 'Upgrade strategy.' })),
      rollingUpdate: opt(
        Type.Object(
          {
            maxUnavailable: opt(
              IntOrString({ description: 'Nodes replaced at once: a count or a percentage (default 1).' }),
            ),
          },
          { description: 'Rolling update settings.' },
        ),
      ),
      crd: opt(CrdStrategy),
    },
    { description: 'How nodes are replaced when the configuration changes.' },
  ),
  {
    rule: "!has(self.type) || self.type != 'crd' || has(self.crd)",
    message: 'strategy.crd is required when strategy.type is crd',
    fieldPath: '.crd',
  },
  {
    rule: "!has(self.rollingUpdate) || !has(self.rollingUpdate.maxUnavailable) || (type(self.rollingUpdate.maxUnavailable) == int ? int(self.rollingUpdate.maxUnavailable) >= 0 : string(self.rollingUpdate.maxUnavailable).matches('^(100|[1-9]?[0-9])%$'))",
    message: 'rollingUpdate.maxUnavailable must be a non-negative count or a percentage',
    fieldPath: '.rollingUpdate.maxUnavailable',
  },
);

export const InstanceGroupSpec = withValidations(
  Type.Object(
    {
      provisioner: StringEnum(['eks', 'eks-managed', 'eks-fargate'], { description: 'Provisioner.' }),
      strategy: opt(Strategy),
      eks: opt(EksSpec),
      'eks-managed': opt(PreserveUnknownFields({ description: 'EKS managed node group (not served yet).' })),
      'eks-fargate': opt(PreserveUnknownFields({ description: 'EKS Fargate profile (not served yet).' })),
    },
    { description: 'Desired node group.' },
  ),
  {
    rule: "self.provisioner != 'eks' || has(self.eks)",
    message: 'spec.eks is required when provisioner is eks',
    fieldPath: '.eks',
  },
  {
    rule: "self.provisioner != 'eks-managed' || has(self.eks__dash__managed)",
    message: 'spec.eks-managed is required when provisioner is eks-managed',
  },
  {
    rule: "self.provisioner != 'eks-fargate' || has(self.eks__dash__fargate)",
    message: 'spec.eks-fargate is required when provisioner is eks-fargate',
  },
);

const Condition = Type.Object(
  {
    type: name('Condition type.'),
    status: StringEnum(['True', 'False', 'Unknown'], { description: 'Status.' }),
    reason: opt(name('Machine-readable reason.')),
    message: opt(Type.String({ description: 'Human-readable message.', maxLength: 32768 })),
    observedGeneration: opt(Type.Integer({ description: 'Generation it was computed from.' })),
    lastTransitionTime: opt(Type.String({ description: 'Last status change.', format: 'date-time' })),
  },
  { description: 'A metav1.Condition.' },
);

export const InstanceGroupStatus = Type.Object(
  {
    currentState: opt(name('State machine position (Init, ReconcileModifying, InitUpgrade, Ready, ...).')),
    currentMin: opt(Type.Integer({ description: 'ASG minimum size.' })),
    currentMax: opt(Type.Integer({ description: 'ASG maximum size.' })),
    activeLaunchConfigurationName: opt(name('Unused (launch templates only).')),
    activeLaunchTemplateName: opt(name('Launch template in use.')),
    latestTemplateVersion: opt(name('Newest launch template version.')),
    activeScalingGroupName: opt(name('ASG in use.')),
    nodesInstanceRoleArn: opt(name('Node IAM role ARN.')),
    nodeIdentity: opt(
      name('How the node role is authorised: aws-auth or access-entry (the mode in effect).'),
    ),
    strategyResourceName: opt(name('Custom resource of the crd strategy.')),
    strategyResourceNamespace: opt(name('Its namespace.')),
    strategyRetryCount: opt(Type.Integer({ description: 'crd strategy resubmissions.' })),
    usingSpotRecommendation: opt(Type.Boolean({ description: 'Spot price from a recommendation.' })),
    lifecycle: opt(name('normal, spot or mixed.')),
    configMD5: opt(name('Hash of the defaults ConfigMap applied.')),
    provisioner: opt(name('Provisioner.')),
    strategy: opt(name('Upgrade strategy.')),
    observedGeneration: opt(Type.Integer({ description: 'Generation last reconciled.' })),
    conditions: opt(Type.Array(Condition, { description: 'Ready, NodesReady, Progressing, Degraded.' })),
  },
  { description: 'Observed state.' },
);

export type InstanceGroupSpec = Static<typeof InstanceGroupSpec>;
export type EksSpec = Static<typeof EksSpec>;
export type EksConfiguration = Static<typeof EksConfiguration>;
export type InstanceGroupStatus = Static<typeof InstanceGroupStatus>;
/**
 * An InstanceGroup as the API returns it. (operator-kit's `CustomObject` types metadata with
 * client-node's V1ObjectMeta, whose Date timestamps do not match `KubeObject`; the JSON is strings.)
 */
export interface InstanceGroup extends KubeObject {
  spec: InstanceGroupSpec;
  status?: InstanceGroupStatus;
}
export type VolumeSpec = NonNullable<EksConfiguration['volumes']>[number];
export type TaintSpec = NonNullable<EksConfiguration['taints']>[number];
export type CrdStrategySpec = Static<typeof CrdStrategy>;

export const instanceGroupCrd = defineCrd({
  group: GROUP,
  kind: 'InstanceGroup',
  plural: 'instancegroups',
  shortNames: ['ig'],
  versions: [
    {
      name: VERSION,
      description:
        'InstanceGroup declares a node group: an Auto Scaling Group of EKS nodes and its launch template.',
      spec: InstanceGroupSpec,
      status: InstanceGroupStatus,
      printerColumns: [
        { name: 'State', type: 'string', jsonPath: '.status.currentState', description: 'Current state' },
        { name: 'Min', type: 'integer', jsonPath: '.status.currentMin', description: 'ASG minimum' },
        { name: 'Max', type: 'integer', jsonPath: '.status.currentMax', description: 'ASG maximum' },
        {
          name: 'Group Name',
          type: 'string',
          jsonPath: '.status.activeScalingGroupName',
          description: 'Scaling group',
        },
        { name: 'Provisioner', type: 'string', jsonPath: '.status.provisioner', description: 'Provisioner' },
        { name: 'Strategy', type: 'string', jsonPath: '.status.strategy', description: 'Upgrade strategy' },
        {
          name: 'Lifecycle',
          type: 'string',
          jsonPath: '.status.lifecycle',
          description: 'normal, spot, mixed',
        },
        ageColumn(),
      ],
    },
  ],
});

export const InstanceGroups = {
  group: GROUP,
  version: VERSION,
  plural: 'instancegroups',
  kind: 'InstanceGroup',
  namespaced: true,
} as const;
