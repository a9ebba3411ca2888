/**
 * The Auto Scaling group a group wants, and the writes that take an observed group there. Pure.
 *
 * Desired capacity is set only at creation (to minSize) and otherwise left alone, so the cluster
 * autoscaler owns it (upstream #107); it is only raised/lowered by AWS itself when min/max move.
 * Tags: only keys this controller wrote before (recorded in {@link TAG_MANAGED_KEYS}) are ever deleted.
 */
import type { AutoScalingGroup, MixedInstancesPolicy } from '@aws-sdk/client-auto-scaling';
import type { EksConfiguration, EksSpec } from '../api/instancegroup.js';
import { type GroupRef, ownershipTags, TAG_MANAGED_KEYS } from './naming.js';

export const ALL_PROCESSES = [
  'Launch',
  'Terminate',
  'AddToLoadBalancer',
  'AlarmNotification',
  'AZRebalance',
  'HealthCheck',
  'InstanceRefresh',
  'ReplaceUnhealthy',
  'ScheduledActions',
];
export const ALL_METRICS = [
  'GroupMinSize',
  'GroupMaxSize',
  'GroupDesiredCapacity',
  'GroupInServiceInstances',
  'GroupPendingInstances',
  'GroupStandbyInstances',
  'GroupTerminatingInstances',
  'GroupTotalInstances',
  'GroupInServiceCapacity',
  'GroupPendingCapacity',
  'GroupStandbyCapacity',
  'GroupTerminatingCapacity',
  'GroupTotalCapacity',
];
export const CLUSTER_AUTOSCALER_ANNOTATION = 'instancemgr.keikoproj.io/cluster-autoscaler-enabled';

export interface DesiredHook {
  name: string;
  transition: string;
  defaultResult: string;
  heartbeatTimeout: number;
  notificationArn?: string;
  roleArn?: string;
  metadata?: string;
}

export interface DesiredAsg {
  name: string;
  minSize: number;
  maxSize: number;
  subnetIds: string[];
  launchTemplate: { id: string; version: string };
  mixedInstancesPolicy?: MixedInstancesPolicy;
  tags: Record<string, string>;
  suspendedProcesses: string[];
  metrics: string[];
  lifecycleHooks: DesiredHook[];
  warmPool?: { minSize: number; maxPreparedCapacity: number };
}

const expand = (list: readonly string[] | undefined, all: string[]) =>
  [...new Set((list ?? []).flatMap((x) => (x.toLowerCase() === 'all' ? all : [x])))].sort();

/** On-demand share from spotRatio (0-100 or a percentage). */
export function onDemandPercentage(spotRatio: number | string | undefined): number {
  const ratio = typeof spotRatio === 'string' ? Number.parseInt(spotRatio, 10) : (spotRatio ?? 0);
  return 100 - Math.min(100, Math.max(0, Number.isNaN(ratio) ? 0 : ratio));
}

export function desiredAsg(input: {
  ref: GroupRef;
  asgName: string;
  eks: EksSpec;
  labels: Record<string, string>;
  taints: NonNullable<EksConfiguration['taints']>;
  annotations: Record<string, string>;
  subnetIds: string[];
  launchTemplate: { id: string; version: string };
}): DesiredAsg {
  const c = input.eks.configuration;
  const minSize = input.eks.minSize ?? 0;
  const maxSize = input.eks.maxSize ?? Math.max(minSize, 1);
  const tags: Record<string, string> = {
    Name: input.asgName,
    KubernetesCluster: input.ref.clusterName,
    [`kubernetes.io/cluster/${input.ref.clusterName}`]: 'owned',
    ...ownershipTags(input.ref),
  };
  for (const t of c.tags ?? []) tags[t.key] = t.value;
  if (input.annotations[CLUSTER_AUTOSCALER_ANNOTATION] === 'true') {
    tags[`k8s.io/cluster-autoscaler/${input.ref.clusterName}`] = 'owned';
    tags['k8s.io/cluster-autoscaler/enabled'] = 'true';
    for (const [k, v] of Object.entries(input.labels))
      tags[`k8s.io/cluster-autoscaler/node-template/label/${k}`] = v;
    for (const t of input.taints)
      tags[`k8s.io/cluster-autoscaler/node-template/taint/${t.key}`] = `${t.value ?? ''}:${t.effect}`;
  }
  const mip = c.mixedInstancesPolicy;
  const mixedInstancesPolicy: MixedInstancesPolicy | undefined = mip
    ? {
        LaunchTemplate: {
          LaunchTemplateSpecification: {
            LaunchTemplateId: input.launchTemplate.id,
            Version: input.launchTemplate.version,
          },
          Overrides: [
            { InstanceType: c.instanceType },
            ...(mip.instanceTypes ?? [])
              .filter((t) => t.type !== c.instanceType)
              .map((t) => ({
                InstanceType: t.type,
                ...(t.weight ? { WeightedCapacity: String(t.weight) } : {}),
              })),
          ],
        },
        InstancesDistribution: {
          OnDemandAllocationStrategy: 'prioritized',
          OnDemandBaseCapacity: mip.baseCapacity ?? 0,
          OnDemandPercentageAboveBaseCapacity: onDemandPercentage(mip.spotRatio),
          SpotAllocationStrategy:
            (mip.strategy ?? (mip.spotPools ? 'LowestPrice' : 'CapacityOptimized')) === 'LowestPrice'
              ? 'lowest-price'
              : 'capacity-optimized',
          ...(mip.spotPools ? { SpotInstancePools: mip.spotPools } : {}),
        },
      }
    : undefined;
  const warm = input.eks.warmPool;
  return {
    name: input.asgName,
    minSize,
    maxSize,
    subnetIds: [...new Set(input.subnetIds)].sort(),
    launchTemplate: input.launchTemplate,
    ...(mixedInstancesPolicy ? { mixedInstancesPolicy } : {}),
    tags,
    suspendedProcesses: expand(c.suspendProcesses, ALL_PROCESSES),
    metrics: expand(c.metricsCollection, ALL_METRICS),
    lifecycleHooks: (c.lifecycleHooks ?? []).map((h) => ({
      name: h.name,
      transition:
        h.lifecycle === 'launch'
          ? 'autoscaling:EC2_INSTANCE_LAUNCHING'
          : 'autoscaling:EC2_INSTANCE_TERMINATING',
      defaultResult: h.defaultResult ?? 'ABANDON',
      heartbeatTimeout: h.heartbeatTimeout ?? 300,
      ...(h.notificationArn ? { notificationArn: h.notificationArn } : {}),
      ...(h.roleArn ? { roleArn: h.roleArn } : {}),
      ...(h.metadata ? { metadata: h.metadata } : {}),
    })),
    ...(warm
      ? {
          warmPool: {
            minSize: warm.minSize ?? 0,
            maxPreparedCapacity: warm.maxSize === undefined || warm.maxSize < 0 ? -1 : warm.maxSize,
          },
        }
      : {}),
  };
}

export interface AsgChanges {
  /** UpdateAutoScalingGroup is needed (min, max, subnets, template or mixed policy). */
  update: boolean;
  setTags: Record<string, string>;
  deleteTags: string[];
  suspend: string[];
  resume: string[];
  enableMetrics: string[];
  disableMetrics: string[];
  putHooks: DesiredHook[];
  deleteHooks: string[];
}

/** The fields of an observed group the diff looks at. */
export type ObservedAsg = Pick<
  AutoScalingGroup,
  | 'MinSize'
  | 'MaxSize'
  | 'VPCZoneIdentifier'
  | 'LaunchTemplate'
  | 'MixedInstancesPolicy'
  | 'Tags'
  | 'SuspendedProcesses'
  | 'EnabledMetrics'
>;

export const managedKeysValue = (tags: Record<string, string>) =>
  Object.keys(tags)
    .filter((k) => k !== TAG_MANAGED_KEYS)
    .sort()
    .join(',');

/** Writes taking `observed` (+ its hooks) to `desired`. Empty lists and update=false: in sync. */
export function diffAsg(
  desired: DesiredAsg,
  observed: ObservedAsg,
  observedHooks: { name: string; transition?: string; defaultResult?: string; heartbeatTimeout?: number }[],
): AsgChanges {
  const observedLt =
    observed.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification ?? observed.LaunchTemplate;
  const observedSubnets = (observed.VPCZoneIdentifier ?? '').split(',').filter(Boolean).sort();
  const mipDist = observed.MixedInstancesPolicy?.InstancesDistribution;
  const wantDist = desired.mixedInstancesPolicy?.InstancesDistribution;
  const update =
    observed.MinSize !== desired.minSize ||
    observed.MaxSize !== desired.maxSize ||
    observedSubnets.join(',') !== desired.subnetIds.join(',') ||
    observedLt?.LaunchTemplateId !== desired.launchTemplate.id ||
    observedLt?.Version !== desired.launchTemplate.version ||
    Boolean(observed.MixedInstancesPolicy) !== Boolean(desired.mixedInstancesPolicy) ||
    (wantDist !== undefined &&
      (mipDist?.OnDemandBaseCapacity !== wantDist.OnDemandBaseCapacity ||
        mipDist?.OnDemandPercentageAboveBaseCapacity !== wantDist.OnDemandPercentageAboveBaseCapacity));

  const tags = { ...desired.tags, [TAG_MANAGED_KEYS]: managedKeysValue(desired.tags) };
  const current = new Map((observed.Tags ?? []).map((t) => [t.Key ?? '', t]));
  const setTags: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) {
    const t = current.get(k);
    if (!t || t.Value !== v || t.PropagateAtLaunch !== true) setTags[k] = v;
  }
  const previous = (current.get(TAG_MANAGED_KEYS)?.Value ?? '').split(',').filter(Boolean);
  const deleteTags = previous.filter((k) => !(k in tags) && current.has(k)).sort();

  const suspended = new Set((observed.SuspendedProcesses ?? []).map((p) => p.ProcessName ?? ''));
  const enabled = new Set((observed.EnabledMetrics ?? []).map((m) => m.Metric ?? ''));
  const wantHooks = new Map(desired.lifecycleHooks.map((h) => [h.name, h]));
  const haveHooks = new Map(observedHooks.map((h) => [h.name, h]));
  return {
    update,
    setTags,
    deleteTags,
    suspend: desired.suspendedProcesses.filter((p) => !suspended.has(p)),
    resume: [...suspended].filter((p) => !desired.suspendedProcesses.includes(p)).sort(),
    enableMetrics: desired.metrics.filter((m) => !enabled.has(m)),
    disableMetrics: [...enabled].filter((m) => !desired.metrics.includes(m)).sort(),
    putHooks: desired.lifecycleHooks.filter((h) => {
      const o = haveHooks.get(h.name);
      return (
        !o ||
        o.transition !== h.transition ||
        o.defaultResult !== h.defaultResult ||
        o.heartbeatTimeout !== h.heartbeatTimeout
      );
    }),
    deleteHooks: [...haveHooks.keys()].filter((n) => !wantHooks.has(n)).sort(),
  };
}

export function isInSync(c: AsgChanges): boolean {
  return (
    !c.update &&
    Object.keys(c.setTags).length === 0 &&
    [c.deleteTags, c.suspend, c.resume, c.enableMetrics, c.disableMetrics, c.putHooks, c.deleteHooks].every(
      (l) => l.length === 0,
    )
  );
}
