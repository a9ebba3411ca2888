/**
 * The InstanceGroup reconciler for the `eks` provisioner: observe (cluster, subnets, security groups,
 * AMI, IAM, launch template, ASG, instances, Nodes), plan (planner/*), act, write status.
 *
 * Level-based and restart-safe: everything it needs to resume is in AWS (ownership tags, launch
 * template version descriptions carrying the desired hash, instance launch-template tags) or in the
 * API (status, a cordoned Node of an outdated instance). A reconcile of a group in progress requeues
 * after `pollMs`; a settled group is resynced every `resyncMs` (jittered) to repair drift.
 */
import type { AwsClients } from '@keiko/aws-kit';
import { instanceLaunchTemplate } from '@keiko/aws-kit';
import {
  addFinalizer,
  CoreResources,
  hasFinalizer,
  InvalidError,
  isConflict,
  type KubeObject,
  type Manager,
  predicates,
  type ReconcileContext,
  type Result,
  removeFinalizer,
} from '@keiko/operator-kit';
import { Gauge, Histogram, type Registry } from 'prom-client';
import {
  applyClusterDefaults,
  type ClusterDefaults,
  CONFIG_EXCLUDED_ANNOTATION,
  CONFIG_MAP_NAME,
  DefaultsError,
  parseClusterDefaults,
} from '../api/cluster-defaults.js';
import { type InstanceGroup, type InstanceGroupSpec, InstanceGroups } from '../api/instancegroup.js';
import { desiredAsg, diffAsg, managedKeysValue } from '../planner/asg.js';
import { LOCK_ANNOTATION, lifecycle, nodeLabels, nodeRolePolicies, osFamily } from '../planner/group.js';
import {
  desiredLaunchTemplateData,
  launchTemplateHash,
  versionDescription,
  versionsToPrune,
} from '../planner/launch-template.js';
import { type GroupRef, groupNames, isOwnedBy, ownershipTags, TAG_MANAGED_KEYS } from '../planner/naming.js';
import {
  accessEntryType,
  type NodeIdentity,
  type NodeIdentityDefault,
  nodeIdentityMode,
} from '../planner/node-identity.js';
import { maxUnavailableCount, type ObservedInstance, planRollingUpdate } from '../planner/rollout.js';
import { type OsFamily, renderUserData } from '../planner/user-data.js';
import { ensureAccessEntry, releaseAccessEntry } from './access-entries.js';
import { AwsAuthInvalidError, syncAwsAuth } from './aws-auth.js';
import { countingAwsCalls } from './aws-calls.js';
import { Cloud, NotFoundInAws } from './cloud.js';
import { StatusBuilder } from './status.js';
import { executeRollingUpdate, stepCrdStrategy } from './upgrade.js';

export const FINALIZER = 'finalizer.instancegroups.keikoproj.io';
export const CONTROLLER_NAME = 'instancegroup';

export interface InstanceGroupControllerOptions {
  aws: AwsClients;
  /** Namespace of the `instance-manager` defaults ConfigMap (upstream `--config-namespace`). */
  configNamespace: string;
  /** Concurrent reconciles (upstream `--max-workers`, default 5). */
  workers?: number;
  /** Requeue of a group in progress (default 10 s, as upstream). */
  pollMs?: number;
  /** Resync of a settled group, jittered +-20% (default 5 min; upstream had none). */
  resyncMs?: number;
  /** How long one reconcile waits for a drain before requeueing (default 60 s). */
  drainTimeoutMs?: number;
  /** Old launch template versions kept (upstream `--config-retention`, default 2). */
  configRetention?: number;
  /**
   * How node roles are authorised when a group's `nodeIdentity` is unset (`--node-identity`, default
   * `auto`: access entries on clusters whose authenticationMode is API, aws-auth otherwise).
   */
  nodeIdentity?: NodeIdentityDefault;
  registry?: Registry;
}

interface NodeObject extends KubeObject {
  spec?: { providerID?: string; unschedulable?: boolean };
  status?: { conditions?: { type: string; status: string }[] };
}
interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const instanceIdOf = (n: NodeObject) => n.spec?.providerID?.split('/').pop();

class OwnershipError extends NotFoundInAws {}

export function instanceGroupController(manager: Manager, options: InstanceGroupControllerOptions) {
  const cloud = new Cloud(options.aws);
  const pollMs = options.pollMs ?? 10_000;
  const resyncMs = options.resyncMs ?? 300_000;
  const nodes = manager.informer<NodeObject>(CoreResources.nodes);
  nodes.store.addIndex('instanceId', (n) => {
    const id = instanceIdOf(n);
    return id ? [id] : [];
  });
  const configMaps = manager.informer<ConfigMap>(CoreResources.configMaps, {
    namespace: options.configNamespace,
    fieldSelector: `metadata.name=${CONFIG_MAP_NAME}`,
  });
  const namespaces = manager.informer<KubeObject>(CoreResources.namespaces);
  const groupsByState = new Gauge({
    name: 'instance_manager_instance_groups',
    help: 'InstanceGroups by currentState',
    labelNames: ['state'],
    registers: [options.registry ?? manager.registry],
  });
  const awsCallsPerReconcile = new Histogram({
    name: 'instance_manager_aws_calls_per_reconcile',
    help: 'AWS API calls made by one InstanceGroup reconcile (cache hits excluded); needs countAwsCalls on the AWS clients',
    buckets: [0, 1, 2, 4, 8, 16, 32, 64],
    registers: [options.registry ?? manager.registry],
  });
  /** instance id -> group key; a derived index for the Node trigger, rebuilt by every reconcile. */
  const groupOfInstance = new Map<string, string>();

  const controller = manager.controller<InstanceGroup>(InstanceGroups, {
    name: CONTROLLER_NAME,
    workers: options.workers ?? 5,
    predicates: [
      predicates.any(
        predicates.generationChanged,
        predicates.annotationsChanged,
        predicates.deletionOrFinalizersChanged,
      ) as never,
    ],
    reconcile: async ({ object }, ctx) => {
      if (!object) return;
      const result = await countingAwsCalls(
        () => reconcileGroup(object, ctx),
        (calls) => awsCallsPerReconcile.observe(calls),
      );
      updateStateGauge();
      return result;
    },
  });

  // A Node of one of our instances changed: that group's NodesReady may have changed.
  controller.watches(
    nodes,
    (n) => {
      const key = groupOfInstance.get(instanceIdOf(n) ?? '');
      return key ? [key] : [];
    },
    [
      (o, n) =>
        JSON.stringify(o.status?.conditions) !== JSON.stringify(n.status?.conditions) ||
        o.spec?.unschedulable !== n.spec?.unschedulable,
    ],
  );
  // The defaults changed: every group whose applied hash differs.
  controller.watches(configMaps, () =>
    controller.primary.store
      .list()
      .filter((g) => g.status?.configMD5 !== clusterDefaults()?.hash)
      .map((g) => `${g.metadata.namespace}/${g.metadata.name}`),
  );
  // A namespace opted in or out of the defaults.
  controller.watches(
    namespaces,
    (ns) =>
      controller.primary.store
        .list(ns.metadata.name)
        .map((g) => `${g.metadata.namespace}/${g.metadata.name}`),
    [predicates.annotationsChanged],
  );

  function updateStateGauge() {
    const counts = new Map<string, number>();
    for (const g of controller.primary.store.list()) {
      const s = g.status?.currentState ?? 'Init';
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    groupsByState.reset();
    for (const [state, n] of counts) groupsByState.set({ state }, n);
  }

  function clusterDefaults(): ClusterDefaults | undefined {
    const cm = configMaps.store.getByName(CONFIG_MAP_NAME, options.configNamespace);
    return cm ? parseClusterDefaults(cm.data) : undefined;
  }

  function effectiveSpec(group: InstanceGroup): { spec: InstanceGroupSpec; hash?: string } {
    const ns = namespaces.store.getByName(group.metadata.namespace!);
    if (ns?.metadata.annotations?.[CONFIG_EXCLUDED_ANNOTATION] === 'true') return { spec: group.spec };
    const defaults = clusterDefaults();
    return { spec: applyClusterDefaults(group, defaults), ...(defaults ? { hash: defaults.hash } : {}) };
  }

  /**
   * The cached object can lag behind the API (a watch under load): operator-kit's guarded patch then
   * fails its `test` (422, or 409). Retry once on the live object instead of failing the reconcile.
   */
  async function ensureFinalizer(group: InstanceGroup, ctx: ReconcileContext): Promise<void> {
    try {
      await addFinalizer(ctx.client, InstanceGroups, group, FINALIZER);
    } catch (err) {
      if (!(err instanceof InvalidError) && !isConflict(err)) throw err;
      const live = await ctx.client.get<InstanceGroup>(
        InstanceGroups,
        group.metadata.name!,
        group.metadata.namespace,
      );
      await addFinalizer(ctx.client, InstanceGroups, live, FINALIZER);
    }
  }

  const jitter = (ms: number) => Math.round(ms * (0.8 + Math.random() * 0.4));

  async function reconcileGroup(group: InstanceGroup, ctx: ReconcileContext): Promise<Result | undefined> {
    const status = new StatusBuilder(group);
    const key = `${group.metadata.namespace}/${group.metadata.name}`;
    try {
      let spec: InstanceGroupSpec;
      try {
        const eff = effectiveSpec(group);
        spec = eff.spec;
        if (eff.hash) status.set({ configMD5: eff.hash });
      } catch (err) {
        if (!(err instanceof DefaultsError)) throw err;
        status.notReady('InvalidDefaults', err.message);
        await status.write(ctx.client);
        return { requeueAfter: jitter(resyncMs) };
      }
      status.set({ provisioner: spec.provisioner, strategy: spec.strategy?.type ?? 'rollingUpdate' });
      if (group.metadata.deletionTimestamp) {
        if (!hasFinalizer(group, FINALIZER)) return;
        return await deleteGroup(group, spec, status, ctx);
      }
      if (spec.provisioner !== 'eks' || !spec.eks) {
        status.notReady(
          'ProvisionerNotSupported',
          `provisioner ${spec.provisioner} is not served by this controller yet`,
        );
        await status.write(ctx.client);
        return;
      }
      await ensureFinalizer(group, ctx);
      const result = await reconcileEks(group, spec, key, status, ctx);
      await status.write(ctx.client);
      return result;
    } catch (err) {
      if (err instanceof NotFoundInAws) {
        status.notReady(err.reason, err.message);
        await status.write(ctx.client);
        return { requeueAfter: jitter(Math.min(resyncMs, 60_000)) };
      }
      const reason = err instanceof AwsAuthInvalidError ? err.reason : 'ReconcileError';
      status
        .state('Error')
        .condition('Degraded', 'True', reason, (err as Error).message)
        .condition('Ready', 'False', reason, (err as Error).message);
      await status.write(ctx.client).catch(() => undefined);
      throw err;
    }
  }

  async function reconcileEks(
    group: InstanceGroup,
    spec: InstanceGroupSpec,
    key: string,
    status: StatusBuilder,
    ctx: ReconcileContext,
  ): Promise<Result> {
    const eks = spec.eks!;
    const cfg = eks.configuration;
    const annotations = group.metadata.annotations ?? {};
    const ref: GroupRef = {
      clusterName: cfg.clusterName,
      namespace: group.metadata.namespace!,
      name: group.metadata.name!,
    };
    const names = groupNames(ref);
    const owned = ownershipTags(ref);
    if (!status.status.currentState || status.status.currentState === 'Error') status.state('Init');

    // Observe what the spec refers to.
    const cluster = await cloud.cluster(cfg.clusterName);
    const identity = nodeIdentityMode({
      requested: cfg.nodeIdentity,
      controllerDefault: options.nodeIdentity ?? 'auto',
      authenticationMode: cluster.authenticationMode,
      clusterName: cfg.clusterName,
    });
    if ('error' in identity) throw new NotFoundInAws(identity.error.reason, identity.error.message);
    const vpcId = cluster.vpcId;
    const family = osFamily(annotations, cfg);
    const arm = /^[a-z]+\d+g/.test(cfg.instanceType);
    const imageId = await cloud.imageId(cfg.image, family, cluster.version, arm);
    const subnetIds = await cloud.subnetIds(cfg.subnets, vpcId);
    const securityGroupIds = await cloud.securityGroupIds(cfg.securityGroups, vpcId);

    // IAM: the user's role/profile, or ours.
    let roleArn: string | undefined;
    let instanceProfileArn: string | undefined;
    if (cfg.instanceProfileName || cfg.roleName) {
      const profileName = cfg.instanceProfileName ?? cfg.roleName!;
      const profile = await cloud.instanceProfile(profileName);
      if (!profile)
        throw new NotFoundInAws('InstanceProfileNotFound', `instance profile ${profileName} not found`);
      instanceProfileArn = profile.Arn;
      roleArn = cfg.roleName ? (await cloud.role(cfg.roleName))?.Arn : profile.Roles?.[0]?.Arn;
      if (cfg.roleName && !roleArn)
        throw new NotFoundInAws('RoleNotFound', `IAM role ${cfg.roleName} not found`);
    } else {
      const { role, profile } = await cloud.ensureNodeRole(
        names.role,
        owned,
        nodeRolePolicies(annotations, cfg),
      );
      roleArn = role.Arn;
      instanceProfileArn = profile.Arn;
    }
    status.set({ nodesInstanceRoleArn: roleArn, lifecycle: lifecycle(cfg) });

    // Launch template: a new version whenever the desired data's hash differs from the latest's.
    const labels = nodeLabels(ref.name, annotations, cfg, imageId);
    const taints = cfg.taints ?? [];
    const userData = renderUserData({
      family,
      cluster: {
        name: cfg.clusterName,
        endpoint: cluster.endpoint,
        certificateAuthority: cluster.certificateAuthority,
        serviceCidr: cluster.serviceCidr,
      },
      labels,
      taints,
      ...(cfg.bootstrapOptions?.maxPods ? { maxPods: cfg.bootstrapOptions.maxPods } : {}),
      ...(cfg.bootstrapArguments ? { kubeletArgs: cfg.bootstrapArguments } : {}),
      stages: cfg.userData ?? [],
    });
    const ltData = desiredLaunchTemplateData(cfg, {
      imageId,
      securityGroupIds,
      instanceProfileArn,
      userData,
    });
    const description = versionDescription(launchTemplateHash(ltData));
    let lt = await cloud.launchTemplate(names.launchTemplate);
    let version: number;
    if (!lt) {
      status.state('InitCreate');
      lt = await cloud.createLaunchTemplate(names.launchTemplate, ltData, description, owned);
      version = 1;
    } else {
      if (!isOwnedBy(lt.Tags, ref))
        throw new OwnershipError(
          'ResourceNotOwned',
          `launch template ${names.launchTemplate} exists and is not owned by this group`,
        );
      const latest = lt.LatestVersionNumber ?? 1;
      const latestVersion = await cloud.launchTemplateVersion(names.launchTemplate, latest);
      if (latestVersion?.VersionDescription === description) {
        version = latest;
        if (lt.DefaultVersionNumber !== version) await cloud.setDefaultVersion(lt, version);
      } else {
        status.state('ReconcileModifying');
        version = await cloud.addLaunchTemplateVersion(lt, ltData, description);
        await ctx.recorder.event(group, {
          type: 'Normal',
          reason: 'LaunchTemplateVersionCreated',
          action: 'Update',
          note: `launch template ${names.launchTemplate} version ${version}`,
        });
        const all = Array.from({ length: version }, (_, i) => i + 1);
        const prune = versionsToPrune(all, { defaultVersion: version }, options.configRetention ?? 2);
        // Versions deleted earlier are gone already; AWS reports them per version, not as a failure.
        await cloud.deleteLaunchTemplateVersions(lt, prune).catch(() => undefined);
      }
    }
    const launchTemplate = { id: lt.LaunchTemplateId!, version: String(version) };
    status.set({ activeLaunchTemplateName: names.launchTemplate, latestTemplateVersion: String(version) });

    // Auto Scaling group.
    const desired = desiredAsg({
      ref,
      asgName: names.autoScalingGroup,
      eks,
      labels,
      taints,
      annotations,
      subnetIds,
      launchTemplate,
    });
    let asg = await cloud.autoScalingGroup(names.autoScalingGroup);
    if (!asg) {
      status.state('InitCreate');
      await cloud.createAutoScalingGroup(desired, managedKeysValue(desired.tags), TAG_MANAGED_KEYS);
      // An empty process list would suspend every process: only call with names.
      if (desired.suspendedProcesses.length)
        await cloud.asgs.suspendProcesses(desired.name, desired.suspendedProcesses);
      await cloud.metrics(desired.name, desired.metrics, []);
      await cloud.hooks(desired.name, desired.lifecycleHooks, []);
      if (desired.warmPool) await cloud.warmPool(desired.name, desired.warmPool);
      await ctx.recorder.event(group, {
        type: 'Normal',
        reason: 'InstanceGroupCreated',
        action: 'Create',
        note: `created ASG ${desired.name}`,
      });
      asg = await cloud.autoScalingGroup(names.autoScalingGroup);
      if (!asg) return { requeueAfter: pollMs };
    } else {
      if (!isOwnedBy(asg.Tags, ref))
        throw new OwnershipError(
          'ResourceNotOwned',
          `ASG ${names.autoScalingGroup} exists and is not owned by this group`,
        );
      const hooks = await cloud.lifecycleHooks(desired.name);
      const changes = diffAsg(
        desired,
        asg,
        hooks.map((h) => ({
          name: h.LifecycleHookName!,
          transition: h.LifecycleTransition,
          defaultResult: h.DefaultResult,
          heartbeatTimeout: h.HeartbeatTimeout,
        })),
      );
      if (changes.update) await cloud.updateAutoScalingGroup(desired);
      if (Object.keys(changes.setTags).length) await cloud.asgs.putTags(desired.name, changes.setTags, true);
      if (changes.deleteTags.length) await cloud.asgs.deleteTags(desired.name, changes.deleteTags);
      if (changes.suspend.length) await cloud.asgs.suspendProcesses(desired.name, changes.suspend);
      if (changes.resume.length) await cloud.asgs.resumeProcesses(desired.name, changes.resume);
      await cloud.metrics(desired.name, changes.enableMetrics, changes.disableMetrics);
      await cloud.hooks(desired.name, changes.putHooks, changes.deleteHooks);
      if (desired.warmPool && !asg.WarmPoolConfiguration)
        await cloud.warmPool(desired.name, desired.warmPool);
      if (!desired.warmPool && asg.WarmPoolConfiguration) await cloud.warmPool(desired.name, 'delete');
      if (changes.update) asg = (await cloud.autoScalingGroup(names.autoScalingGroup)) ?? asg;
    }
    status.set({
      activeScalingGroupName: names.autoScalingGroup,
      currentMin: desired.minSize,
      currentMax: desired.maxSize,
    });

    if (roleArn) await syncNodeIdentity(group, ref, identity.mode, roleArn, family, status, ctx);

    // Instances and their Nodes.
    const members = (asg.Instances ?? []).filter((i) => !i.LifecycleState?.startsWith('Terminating'));
    const ec2Instances = await cloud.instances(members.map((i) => i.InstanceId!));
    for (const [id, k] of groupOfInstance) if (k === key) groupOfInstance.delete(id);
    const observed: ObservedInstance[] = members.map((m) => {
      const id = m.InstanceId!;
      groupOfInstance.set(id, key);
      const ec2 = ec2Instances.find((i) => i.InstanceId === id);
      const runs = ec2 ? instanceLaunchTemplate(ec2) : undefined;
      const node = nodes.store.byIndex('instanceId', id)[0];
      return {
        id,
        current: runs?.launchTemplateId === launchTemplate.id && runs.version === launchTemplate.version,
        ...(node
          ? {
              node: {
                name: node.metadata.name!,
                ready:
                  node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
                unschedulable: node.spec?.unschedulable ?? false,
              },
            }
          : {}),
      };
    });
    const desiredCapacity = asg.DesiredCapacity ?? desired.minSize;
    const readyNodes = observed.filter((o) => o.node?.ready).length;
    const nodesReady = observed.length === desiredCapacity && readyNodes === observed.length;
    status.condition(
      'NodesReady',
      nodesReady ? 'True' : 'False',
      nodesReady ? 'NodesReady' : 'NodesNotReady',
      `${readyNodes} of ${desiredCapacity} nodes ready`,
    );
    const wasReady = group.status?.conditions?.find((c) => c.type === 'NodesReady')?.status;
    if ((wasReady === 'True') !== nodesReady && (nodesReady || wasReady === 'True'))
      await ctx.recorder.event(group, {
        type: nodesReady ? 'Normal' : 'Warning',
        reason: nodesReady ? 'InstanceGroupNodesReady' : 'InstanceGroupNodesNotReady',
        action: 'Observe',
        note: `${readyNodes} of ${desiredCapacity} nodes ready`,
      });

    // Upgrade.
    const outdated = observed.filter((o) => !o.current);
    if (outdated.length > 0) {
      if (annotations[LOCK_ANNOTATION] === 'true') {
        status
          .state('Locked')
          .condition(
            'Progressing',
            'False',
            'UpgradeLocked',
            `${outdated.length} instances outdated; upgrades locked by ${LOCK_ANNOTATION}`,
          )
          .condition('Degraded', 'False', 'UpgradeLocked')
          .condition('Ready', 'False', 'UpgradeLocked', `${outdated.length} instances wait for an upgrade`);
        return { requeueAfter: jitter(resyncMs) };
      }
      status.state('InitUpgrade');
      const strategy = spec.strategy?.type ?? 'rollingUpdate';
      if (strategy === 'crd' && spec.strategy?.crd) {
        const step = await stepCrdStrategy(
          ctx.client,
          group,
          spec.strategy.crd,
          names.autoScalingGroup,
          launchTemplate,
          status,
        );
        if (step.phase === 'failed') {
          status.notReady('UpgradeFailed', step.message);
          await ctx.recorder.event(group, {
            type: 'Warning',
            reason: 'InstanceGroupUpgradeFailed',
            action: 'Upgrade',
            note: step.message,
          });
          return { requeueAfter: jitter(resyncMs) };
        }
        if (step.phase !== 'succeeded') {
          const message =
            step.phase === 'waiting' ? step.reason : `${spec.strategy.crd.crdName} ${step.name} running`;
          status
            .condition(
              'Progressing',
              'True',
              'UpgradeInProgress',
              `${outdated.length} instances outdated; ${message}`,
            )
            .condition('Degraded', 'False', 'UpgradeInProgress')
            .condition('Ready', 'False', 'UpgradeInProgress', message);
          return { requeueAfter: pollMs };
        }
        // The custom resource reports success: the instances left outdated are its business.
      } else {
        const plan = planRollingUpdate({
          instances: observed,
          desiredCapacity,
          maxUnavailable: maxUnavailableCount(spec.strategy?.rollingUpdate?.maxUnavailable, observed.length),
        });
        const done = await executeRollingUpdate(ctx.client, cloud, plan, {
          drainTimeoutMs: options.drainTimeoutMs ?? 60_000,
          signal: ctx.signal,
        });
        const message = `${plan.outdated.length} instances outdated; replaced ${done.terminated.length}, draining ${done.draining.length}${plan.waiting ? `; ${plan.waiting}` : ''}${done.blocked.length ? `; drain blocked: ${done.blocked.slice(0, 3).join(', ')}` : ''}`;
        status
          .condition('Progressing', 'True', 'RollingUpdate', message)
          .condition('Degraded', 'False', 'RollingUpdate')
          .condition('Ready', 'False', 'RollingUpdate', message);
        return { requeueAfter: pollMs };
      }
    }

    if (!nodesReady) {
      status
        .state('ReconcileModifying')
        .condition(
          'Progressing',
          'True',
          'WaitingForNodes',
          `${readyNodes} of ${desiredCapacity} nodes ready`,
        )
        .condition('Degraded', 'False', 'WaitingForNodes')
        .condition('Ready', 'False', 'NodesNotReady', `${readyNodes} of ${desiredCapacity} nodes ready`);
      return { requeueAfter: pollMs };
    }
    status
      .state('Ready')
      .condition('Progressing', 'False', 'Settled', 'every instance runs the desired launch template')
      .condition('Degraded', 'False', 'Settled')
      .condition('Ready', 'True', 'Ready', `${readyNodes} nodes ready`);
    return { requeueAfter: jitter(resyncMs) };
  }

  /**
   * Other groups of `clusterName` (not being deleted) whose status says their role `roleArn` is
   * authorised by an access entry.
   */
  function accessEntryUsers(key: string, clusterName: string, roleArn: string): number {
    return controller.primary.store.list().filter((g) => {
      if (`${g.metadata.namespace}/${g.metadata.name}` === key || g.metadata.deletionTimestamp) return false;
      if (g.status?.nodeIdentity !== 'access-entry' || g.status.nodesInstanceRoleArn !== roleArn)
        return false;
      let cluster = g.spec.eks?.configuration?.clusterName;
      try {
        cluster = effectiveSpec(g).spec.eks?.configuration?.clusterName ?? cluster;
      } catch {
        // Bad defaults: the group's own spec decides.
      }
      return cluster === clusterName;
    }).length;
  }

  /**
   * Authorises `roleArn` the way `mode` says, then releases what the group used before when the
   * mode or the role changed (the new one first, so nodes never lose access in between).
   */
  async function syncNodeIdentity(
    group: InstanceGroup,
    ref: GroupRef,
    mode: NodeIdentity,
    roleArn: string,
    family: OsFamily,
    status: StatusBuilder,
    ctx: ReconcileContext,
  ): Promise<void> {
    const key = `${ref.namespace}/${ref.name}`;
    if (mode === 'aws-auth') {
      await syncAwsAuth(ctx.client, { group: key, roleArn, present: true, windows: family === 'windows' });
    } else {
      const outcome = await ensureAccessEntry(cloud, ref, roleArn, accessEntryType(family));
      if (outcome === 'created')
        await ctx.recorder.event(group, {
          type: 'Normal',
          reason: 'AccessEntryCreated',
          action: 'Create',
          note: `EKS access entry ${accessEntryType(family)} for ${roleArn}`,
        });
    }
    status.set({ nodeIdentity: mode });
    const prevRole = group.status?.nodesInstanceRoleArn;
    // Groups from before this field (or upstream's) used aws-auth.
    const prevMode = (group.status?.nodeIdentity as NodeIdentity | undefined) ?? 'aws-auth';
    if (!prevRole || (prevRole === roleArn && prevMode === mode)) return;
    if (prevMode === 'access-entry')
      // This group moved to aws-auth or to another role: only the other groups count.
      await releaseAccessEntry(cloud, ref.clusterName, prevRole, () =>
        accessEntryUsers(key, ref.clusterName, prevRole),
      );
    else await syncAwsAuth(ctx.client, { group: key, roleArn: prevRole, present: false });
  }

  async function deleteGroup(
    group: InstanceGroup,
    spec: InstanceGroupSpec,
    status: StatusBuilder,
    ctx: ReconcileContext,
  ): Promise<Result | undefined> {
    const key = `${group.metadata.namespace}/${group.metadata.name}`;
    const cfg = spec.eks?.configuration;
    if (spec.provisioner === 'eks' && cfg?.clusterName) {
      const ref: GroupRef = {
        clusterName: cfg.clusterName,
        namespace: group.metadata.namespace!,
        name: group.metadata.name!,
      };
      const names = groupNames(ref);
      status
        .state('Deleting')
        .condition('Ready', 'False', 'Deleting', 'deleting the ASG and launch template');
      await status.write(ctx.client);
      const asg = await cloud.autoScalingGroup(names.autoScalingGroup);
      if (asg && isOwnedBy(asg.Tags, ref)) {
        if (asg.Status !== 'Delete in progress') {
          await cloud.deleteAutoScalingGroup(names.autoScalingGroup);
          await ctx.recorder.event(group, {
            type: 'Normal',
            reason: 'InstanceGroupDeleted',
            action: 'Delete',
            note: `deleting ASG ${names.autoScalingGroup}`,
          });
        }
        if (await cloud.autoScalingGroup(names.autoScalingGroup)) return { requeueAfter: pollMs };
      }
      const lt = await cloud.launchTemplate(names.launchTemplate);
      if (lt && isOwnedBy(lt.Tags, ref)) await cloud.deleteLaunchTemplate(lt);
      const roleArn = group.status?.nodesInstanceRoleArn;
      if (roleArn) {
        // The status records the mode in effect; an explicit access-entry choice also counts, in case
        // the entry was made but the status write after it was lost (a crash in between).
        const entries =
          group.status?.nodeIdentity === 'access-entry' ||
          (!group.status?.nodeIdentity && (cfg.nodeIdentity ?? options.nodeIdentity) === 'access-entry');
        if (entries)
          await releaseAccessEntry(cloud, cfg.clusterName, roleArn, () =>
            accessEntryUsers(key, cfg.clusterName, roleArn),
          );
        // A no-op unless this group is recorded as needing an aws-auth entry it added.
        await syncAwsAuth(ctx.client, { group: key, roleArn, present: false });
      }
      if (!cfg.roleName && !cfg.instanceProfileName) {
        const role = await cloud.role(names.role);
        if (role && isOwnedBy(role.Tags, ref)) await cloud.deleteNodeRole(names.role);
      }
      for (const [id, k] of groupOfInstance) if (k === key) groupOfInstance.delete(id);
    }
    await removeFinalizer(ctx.client, InstanceGroups, group, FINALIZER);
    return;
  }

  return controller;
}
