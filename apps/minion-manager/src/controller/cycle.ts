/**
 * One reconcile cycle over every opted-in group of the cluster: observe (group, instances, Nodes,
 * prices, scaling activities, RollingUpgrades), decide (pure, ../decision), act (tags first, then the
 * MixedInstancesPolicy, then replacements), report (recommendation Event, status ConfigMap, metrics).
 *
 * Order of writes makes a restart at any point safe: the decided market and its time are written to
 * the group's tags before the policy changes, the instance being replaced is written to the
 * `replacing` tag before its drain begins, and every step re-reads the world rather than trusting
 * memory.
 */
import { type AutoScalingGroup, DescribeScalingActivitiesCommand } from '@aws-sdk/client-auto-scaling';
import type { AutoScalingGroups, AwsClients, Ec2 } from '@keiko/aws-kit';
import { CoreResources, errorMessage, type KubeObject, type ReconcileContext } from '@keiko/operator-kit';
import {
  decodeBackoffs,
  encodeBackoffs,
  marketStateOf,
  marketStateTags,
  modeOf,
  notTerminate,
  policyOf,
  replacingOf,
  TAG,
  type Tags,
  tagsOf,
} from '../asg/tags.js';
import { capacityFailures } from '../decision/activities.js';
import { type BackoffOptions, type CapacityBackoff, recordCapacityFailures } from '../decision/backoff.js';
import { decide } from '../decision/decide.js';
import { type GroupInstance, planReplacement } from '../decision/replacement.js';
import type { MarketState, Policy } from '../decision/types.js';
import type { OnDemandPriceSource } from '../pricing/on-demand.js';
import type { SpotPriceSource } from '../pricing/spot.js';
import { applyPolicy, launchSourceOf, policyUpdate } from './actuate.js';
import { discoverGroups } from './discovery.js';
import type { MinionMetrics } from './metrics.js';
import { publishRecommendation, recommendationOf } from './recommendation.js';
import { executeReplacement } from './replace.js';
import { groupsBeingUpgraded } from './rolling-upgrades.js';
import type { GroupStatus } from './status.js';
import { writeStatus } from './status.js';

export interface CycleConfig {
  clusterName: string;
  eventsOnly: boolean;
  defaults: Policy;
  backoff: BackoffOptions;
  drainTimeoutMs: number;
  evictionRetryMs: number;
  /** Where SpotRecommendationGiven Events and per-group events go (upstream EVENT_NAMESPACE). */
  eventNamespace: string;
  /** Rewrite an unchanged recommendation Event this often; default 5 min. */
  recommendationRefreshMs: number;
  statusNamespace: string;
  statusName: string;
  /** Groups handled at once. */
  concurrency: number;
}

export interface CycleDeps {
  aws: AwsClients;
  asgs: AutoScalingGroups;
  ec2: Ec2;
  onDemand: OnDemandPriceSource;
  spot: SpotPriceSource;
  metrics: MinionMetrics;
  now: () => number;
  /** Nodes from a watch cache (setup.ts); without it each cycle lists Nodes from the API server. */
  nodes?: () => NodeLike[];
}

export interface NodeLike extends KubeObject {
  spec?: { providerID?: string; unschedulable?: boolean };
  status?: { conditions?: { type: string; status: string }[] };
}

export class MinionCycle {
  /**
   * Events-only mode writes nothing to AWS, so its market memory (for hysteresis and dwell) and its
   * back-offs live here and are rebuilt after a restart from the group's actual policy and activities.
   */
  private readonly memory = new Map<string, { state: MarketState; backoffs: CapacityBackoff[] }>();

  constructor(
    private readonly config: CycleConfig,
    private readonly deps: CycleDeps,
  ) {}

  /** Runs one cycle; per-group failures are reported in that group's status and do not stop the others. */
  async run(ctx: ReconcileContext): Promise<Map<string, GroupStatus>> {
    const { asgs, metrics } = this.deps;
    const [groups, nodes, upgrading] = await Promise.all([
      discoverGroups(asgs, this.config.clusterName),
      this.deps.nodes
        ? this.deps.nodes()
        : ctx.client.list<NodeLike>(CoreResources.nodes).then((l) => l.items),
      groupsBeingUpgraded(ctx.client),
    ]);
    const byInstance = new Map<string, GroupInstance['node']>();
    for (const n of nodes) {
      const id = n.spec?.providerID?.split('/').pop();
      if (!id?.startsWith('i-')) continue;
      byInstance.set(id, {
        name: n.metadata.name as string,
        ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        unschedulable: n.spec?.unschedulable === true,
      });
    }
    const statuses = new Map<string, GroupStatus>();
    let failed = 0;
    const queue = [...groups];
    const worker = async () => {
      for (let g = queue.shift(); g; g = queue.shift()) {
        const name = g.AutoScalingGroupName as string;
        try {
          statuses.set(name, await this.reconcileGroup(g, byInstance, upgrading, ctx));
        } catch (err) {
          failed++;
          ctx.log.error({ asg: name, err: errorMessage(err) }, 'group reconcile failed');
          statuses.set(name, {
            mode: modeOf(tagsOf(g.Tags)),
            reason: 'Error',
            message: errorMessage(err).slice(0, 500),
            updatedAt: new Date(this.deps.now()).toISOString(),
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.config.concurrency) }, worker));
    await writeStatus(ctx.client, this.config.statusNamespace, this.config.statusName, statuses);
    metrics.cycles.inc({ result: failed > 0 ? 'error' : 'success' });
    return statuses;
  }

  private async reconcileGroup(
    group: AutoScalingGroup,
    nodes: ReadonlyMap<string, GroupInstance['node']>,
    upgrading: ReadonlySet<string>,
    ctx: ReconcileContext,
  ): Promise<GroupStatus> {
    const { asgs, metrics } = this.deps;
    const now = this.deps.now();
    const name = group.AutoScalingGroupName as string;
    const tags = tagsOf(group.Tags);
    const mode = modeOf(tags);
    const log = ctx.log.child({ asg: name });
    const event = (type: 'Normal' | 'Warning', reason: string, note: string) =>
      ctx.recorder.event(this.regarding(name), { type, reason, action: 'Reconcile', note });
    const base = { mode, updatedAt: new Date(now).toISOString() };

    const { policy, problems } = policyOf(tags, this.config.defaults);
    for (const p of problems)
      await event(
        'Warning',
        'InvalidPolicyTag',
        `tag ${p.tag}=${JSON.stringify(p.value)} ${p.problem}; using the default`,
      );

    const source = launchSourceOf(group);
    if (source === 'launch-configuration' || source === 'none') {
      const message =
        source === 'launch-configuration'
          ? `launch configuration ${group.LaunchConfigurationName} is not supported: move the group to a launch template (AWS retired launch configurations)`
          : 'the group has no launch template';
      await event('Warning', 'LaunchConfigurationUnsupported', message);
      return { ...base, reason: 'Unsupported', message, skipped: 'unsupported launch source' };
    }

    const instanceTypes = await this.instanceTypes(group);
    const zones = [...(group.AvailabilityZones ?? [])].sort();
    const [onDemandPrices, spotPrices, activities] = await Promise.all([
      this.deps.onDemand.prices(instanceTypes),
      this.deps.spot.prices(instanceTypes, zones),
      this.deps.aws.autoScaling.send(
        new DescribeScalingActivitiesCommand({ AutoScalingGroupName: name, MaxRecords: 50 }),
      ),
    ]);
    for (const [t, p] of onDemandPrices) metrics.onDemandPrice.set({ instance_type: t }, p);
    for (const [k, p] of spotPrices) {
      const [t, z] = k.split('@');
      metrics.spotPrice.set({ instance_type: t as string, availability_zone: z as string }, p);
    }

    // Capacity back-off, persisted before anything acts on it.
    const recent = capacityFailures(activities.Activities ?? []).filter(
      (f) => now - f.at < this.config.backoff.maxMs,
    );
    const remembered0 = this.config.eventsOnly ? this.memory.get(name) : undefined;
    const backoffs = recordCapacityFailures(
      remembered0?.backoffs ?? decodeBackoffs(tags[TAG.capacityBackoff]),
      recent,
      now,
      this.config.backoff,
    );
    const encodedBackoffs = encodeBackoffs(backoffs);
    const stateTags: Tags = {};
    if (!this.config.eventsOnly && encodedBackoffs !== (tags[TAG.capacityBackoff] ?? '')) {
      if (encodedBackoffs) stateTags[TAG.capacityBackoff] = encodedBackoffs;
      else await asgs.deleteTags(name, [TAG.capacityBackoff]);
      if (backoffs.length > 0) log.info({ backoff: encodedBackoffs }, 'capacity back-off updated');
    }

    const actual = group.MixedInstancesPolicy?.InstancesDistribution?.OnDemandPercentageAboveBaseCapacity;
    const remembered =
      remembered0?.state ??
      marketStateOf(tags) ??
      (group.MixedInstancesPolicy
        ? { market: actual === 0 ? ('spot' as const) : ('on-demand' as const), since: 0 }
        : undefined);
    const decision = decide({
      now,
      mode,
      policy,
      instanceTypes,
      zones,
      onDemandPrices,
      spotPrices,
      backoffs,
      current: remembered,
    });
    const state: MarketState =
      decision.changed || !remembered ? { market: decision.market, since: now } : remembered;
    if (decision.changed) {
      metrics.switches.inc({ asg: name, market: decision.market });
      log.info(
        { market: decision.market, reason: decision.reason, detail: decision.message },
        'market decided',
      );
      await event(
        'Normal',
        'MarketChanged',
        `${remembered?.market ?? 'unknown'} -> ${decision.market}: ${decision.message}`,
      );
    }
    for (const m of ['spot', 'on-demand'] as const)
      metrics.decision.set({ asg: name, market: m }, decision.market === m ? 1 : 0);
    if (decision.ratio !== undefined) metrics.spotRatio.set({ asg: name }, decision.ratio);

    await publishRecommendation(
      ctx.client,
      this.config.eventNamespace,
      name,
      recommendationOf(decision, tags),
      this.config.recommendationRefreshMs,
      new Date(now),
    );

    const instances = await this.instances(group, nodes);
    const spotCount = instances.filter((i) => i.lifecycle === 'spot').length;
    const status: GroupStatus = {
      ...base,
      market: decision.market,
      marketSince: new Date(state.since).toISOString(),
      reason: decision.reason,
      message: decision.message,
      ratio: decision.ratio,
      instanceType: decision.instanceType,
      spotPrice: decision.spotPrice,
      onDemandPrice: decision.onDemandPrice,
      instances: { spot: spotCount, onDemand: instances.length - spotCount },
      capacityBackoff: encodedBackoffs || undefined,
    };
    if (decision.spotPrice !== undefined && decision.onDemandPrice !== undefined)
      metrics.savings.set(
        { asg: name },
        spotCount * Math.max(0, decision.onDemandPrice - decision.spotPrice),
      );

    if (this.config.eventsOnly) {
      this.memory.set(name, { state, backoffs });
      return { ...status, skipped: 'events-only mode' };
    }
    if (upgrading.has(name.toLowerCase())) {
      if (Object.keys(stateTags).length > 0) await asgs.putTags(name, stateTags);
      log.info('RollingUpgrade in progress; group left alone');
      return { ...status, skipped: 'a RollingUpgrade is in progress' };
    }

    // Tags first (the decision survives a restart), then the policy.
    if (decision.changed || !marketStateOf(tags)) Object.assign(stateTags, marketStateTags(state));
    if (Object.keys(stateTags).length > 0) await asgs.putTags(name, stateTags);
    const update = policyUpdate(group, decision.market, policy);
    if (update) {
      await applyPolicy(this.deps.aws, asgs, name, update);
      log.info({ distribution: update.InstancesDistribution }, 'mixed instances policy updated');
    }

    if (notTerminate(tags)) return { ...status, skipped: `${TAG.notTerminate}: instances are not replaced` };
    const replacing = replacingOf(tags);
    const plan = planReplacement({
      market: decision.market,
      policy,
      desiredCapacity: group.DesiredCapacity ?? 0,
      instances,
      replacing,
    });
    const after = await executeReplacement(
      name,
      plan,
      replacing,
      instances,
      { drainTimeoutMs: this.config.drainTimeoutMs, evictionRetryMs: this.config.evictionRetryMs },
      { asgs, metrics, event },
      ctx,
    );
    return { ...status, replacing: after.length > 0 ? after : undefined };
  }

  /** The group's instance types: its overrides, else its launch template version's type. */
  private async instanceTypes(group: AutoScalingGroup): Promise<string[]> {
    const overrides = group.MixedInstancesPolicy?.LaunchTemplate?.Overrides ?? [];
    const types = overrides.map((o) => o.InstanceType).filter((t): t is string => Boolean(t));
    if (types.length > 0) return [...new Set(types)].sort();
    const spec =
      group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification ?? group.LaunchTemplate;
    const idOrName = spec?.LaunchTemplateId ?? spec?.LaunchTemplateName;
    if (!idOrName) return [];
    const [version] = await this.deps.ec2.launchTemplateVersions(idOrName, [spec?.Version ?? '$Default']);
    const t = version?.LaunchTemplateData?.InstanceType;
    return t ? [t] : [];
  }

  private async instances(
    group: AutoScalingGroup,
    nodes: ReadonlyMap<string, GroupInstance['node']>,
  ): Promise<GroupInstance[]> {
    const members = group.Instances ?? [];
    const ec2 = await this.deps.ec2.instances(
      members.map((i) => i.InstanceId as string),
      { ttlMs: 0 },
    );
    const byId = new Map(ec2.map((i) => [i.InstanceId as string, i]));
    return members.map((m) => {
      const id = m.InstanceId as string;
      const e = byId.get(id);
      return {
        instanceId: id,
        lifecycle: e?.InstanceLifecycle === 'spot' ? 'spot' : 'on-demand',
        lifecycleState: m.LifecycleState ?? 'InService',
        launchTime: e?.LaunchTime?.getTime(),
        node: nodes.get(id),
      };
    });
  }

  /**
   * Events about a group regard a pseudo-object named after it (upstream's SpotPriceInfo kind). The
   * recorder derives the Event's name from it, and Event names must be DNS subdomains while group
   * names may hold upper case, `_` or spaces: such names are lower-cased and cleaned.
   */
  private regarding(asg: string): KubeObject {
    const dnsSafe = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(asg) && asg.length <= 200;
    const name = dnsSafe
      ? asg
      : asg
          .toLowerCase()
          .replace(/[^-a-z0-9.]+/g, '-')
          .replace(/^[-.]+|[-.]+$/g, '')
          .slice(0, 200) || 'group';
    return {
      apiVersion: 'v1',
      kind: 'SpotPriceInfo',
      metadata: { name, namespace: this.config.eventNamespace },
    };
  }
}
