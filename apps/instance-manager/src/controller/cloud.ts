/**
 * The AWS side of the `eks` provisioner: look-ups (scoped by name, id or tag, never region-wide
 * scans of ASGs or templates) and the writes the reconciler makes. Reads go through aws-kit's
 * coalescing TTL cache; every write invalidates what it changed. No decisions are made here.
 */
import {
  type AutoScalingGroup,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DeleteLifecycleHookCommand,
  DeleteWarmPoolCommand,
  DescribeLifecycleHooksCommand,
  DisableMetricsCollectionCommand,
  EnableMetricsCollectionCommand,
  type LifecycleHook,
  PutLifecycleHookCommand,
  PutWarmPoolCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  DeleteLaunchTemplateCommand,
  DeleteLaunchTemplateVersionsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  type Instance,
  type LaunchTemplate,
  type LaunchTemplateVersion,
  ModifyLaunchTemplateCommand,
  type RequestLaunchTemplateData,
} from '@aws-sdk/client-ec2';
import {
  CreateAccessEntryCommand,
  DeleteAccessEntryCommand,
  DescribeAccessEntryCommand,
} from '@aws-sdk/client-eks';
import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  type InstanceProfile,
  ListAttachedRolePoliciesCommand,
  RemoveRoleFromInstanceProfileCommand,
  type Role,
} from '@aws-sdk/client-iam';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import {
  AutoScalingGroups,
  type AwsClients,
  asgTag,
  classifyAwsError,
  Ec2,
  Eks,
  eksOptimizedAmiId,
  launchTemplateTag,
} from '@keiko/aws-kit';
import type { DesiredAsg, DesiredHook } from '../planner/asg.js';
import type { OsFamily } from '../planner/user-data.js';

/** Something the user named does not exist: reported as Ready=False with this reason, not retried fast. */
export class NotFoundInAws extends Error {
  override name = 'NotFoundInAws';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the reconciler needs of the EKS cluster. */
export interface ClusterFacts {
  version: string;
  endpoint: string;
  certificateAuthority: string;
  serviceCidr: string;
  vpcId?: string;
  /** `accessConfig.authenticationMode` (API, API_AND_CONFIG_MAP, CONFIG_MAP), when reported. */
  authenticationMode?: string;
}

/** An EKS access entry as the reconciler needs it. */
export interface AccessEntryFacts {
  principalArn: string;
  type?: string;
  tags: Record<string, string>;
}

const TTL = { network: 180_000, iam: 60_000, hooks: 60_000, ssm: 3_600_000 };
const iamTag = (kind: string, name: string) => `iam:${kind}:${name}`;
const accessEntryTag = (cluster: string, principal: string) => `eks:access-entry:${cluster}:${principal}`;
const isEksNotFound = (err: unknown) =>
  (err as Error).name === 'ResourceNotFoundException' || classifyAwsError(err) === 'not-found';

export class Cloud {
  readonly asgs: AutoScalingGroups;
  readonly ec2: Ec2;
  readonly eks: Eks;

  constructor(readonly aws: AwsClients) {
    this.asgs = new AutoScalingGroups(aws);
    this.ec2 = new Ec2(aws);
    this.eks = new Eks(aws);
  }

  async cluster(name: string): Promise<ClusterFacts> {
    const cluster = await this.eks.cluster(name);
    if (!cluster) throw new NotFoundInAws('ClusterNotFound', `EKS cluster ${name} not found`);
    return {
      version: cluster.version ?? '',
      endpoint: cluster.endpoint ?? '',
      certificateAuthority: cluster.certificateAuthority?.data ?? '',
      serviceCidr: cluster.kubernetesNetworkConfig?.serviceIpv4Cidr ?? '172.20.0.0/16',
      ...(cluster.resourcesVpcConfig?.vpcId ? { vpcId: cluster.resourcesVpcConfig.vpcId } : {}),
      ...(cluster.accessConfig?.authenticationMode
        ? { authenticationMode: cluster.accessConfig.authenticationMode }
        : {}),
    };
  }

  // ---- EKS access entries ----

  /** The access entry of `principalArn`, or undefined. Cached like IAM reads; writes invalidate. */
  async accessEntry(clusterName: string, principalArn: string): Promise<AccessEntryFacts | undefined> {
    return this.aws.cachedRead(
      'eks',
      'DescribeAccessEntry',
      { clusterName, principalArn },
      { ttlMs: TTL.iam, tags: [accessEntryTag(clusterName, principalArn)] },
      async () => {
        try {
          const e = (await this.aws.eks.send(new DescribeAccessEntryCommand({ clusterName, principalArn })))
            .accessEntry;
          return e
            ? { principalArn, ...(e.type ? { type: e.type } : {}), tags: { ...(e.tags ?? {}) } }
            : undefined;
        } catch (err) {
          if (isEksNotFound(err)) return undefined;
          throw err;
        }
      },
    );
  }

  /** Creates the entry with `tags`; `false` when one exists already (someone else's or a race). */
  async createAccessEntry(
    clusterName: string,
    principalArn: string,
    type: string,
    tags: Record<string, string>,
  ): Promise<boolean> {
    try {
      await this.aws.eks.send(new CreateAccessEntryCommand({ clusterName, principalArn, type, tags }));
      return true;
    } catch (err) {
      if ((err as Error).name === 'ResourceInUseException') return false;
      throw err;
    } finally {
      this.aws.invalidate(accessEntryTag(clusterName, principalArn));
    }
  }

  /** Deletes the entry; gone already is fine. */
  async deleteAccessEntry(clusterName: string, principalArn: string): Promise<void> {
    try {
      await this.aws.eks.send(new DeleteAccessEntryCommand({ clusterName, principalArn }));
    } catch (err) {
      if (!isEksNotFound(err)) throw err;
    } finally {
      this.aws.invalidate(accessEntryTag(clusterName, principalArn));
    }
  }

  /** Subnet ids for ids or Name tags (within the cluster VPC), de-duplicated and sorted. */
  async subnetIds(refs: readonly string[], vpcId: string | undefined): Promise<string[]> {
    return this.resolveByIdOrName('subnet', refs, vpcId);
  }

  async securityGroupIds(refs: readonly string[], vpcId: string | undefined): Promise<string[]> {
    return this.resolveByIdOrName('sg', refs, vpcId);
  }

  private async resolveByIdOrName(kind: 'subnet' | 'sg', refs: readonly string[], vpcId?: string) {
    const idPrefix = kind === 'subnet' ? 'subnet-' : 'sg-';
    const ids = refs.filter((r) => r.startsWith(idPrefix));
    const names = refs.filter((r) => !r.startsWith(idPrefix));
    const filters = [
      ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []),
      ...(names.length ? [{ Name: 'tag:Name', Values: [...names].sort() }] : []),
    ];
    const byId = new Map<string, string>();
    const byName = new Map<string, string>();
    const load = async (query: { ids?: string[]; filters: typeof filters }) =>
      this.aws.cachedRead(
        'ec2',
        kind === 'subnet' ? 'DescribeSubnets' : 'DescribeSecurityGroups',
        query,
        { ttlMs: TTL.network, tags: [] },
        async () => {
          const out: { id: string; name?: string }[] = [];
          const Filters = [
            ...query.filters,
            ...(query.ids ? [{ Name: kind === 'subnet' ? 'subnet-id' : 'group-id', Values: query.ids }] : []),
          ];
          if (kind === 'subnet') {
            const r = await this.aws.ec2.send(new DescribeSubnetsCommand({ Filters }));
            for (const s of r.Subnets ?? [])
              out.push({ id: s.SubnetId!, name: s.Tags?.find((t) => t.Key === 'Name')?.Value });
          } else {
            const r = await this.aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters }));
            for (const g of r.SecurityGroups ?? [])
              out.push({ id: g.GroupId!, name: g.Tags?.find((t) => t.Key === 'Name')?.Value ?? g.GroupName });
          }
          return out;
        },
      );
    if (ids.length) for (const x of await load({ ids: [...ids].sort(), filters: [] })) byId.set(x.id, x.id);
    if (names.length) for (const x of await load({ filters })) if (x.name) byName.set(x.name, x.id);
    const missing = refs.filter((r) => !byId.has(r) && !byName.has(r));
    if (missing.length) {
      const what = kind === 'subnet' ? 'Subnet' : 'SecurityGroup';
      throw new NotFoundInAws(
        `${what}NotFound`,
        `${kind === 'subnet' ? 'subnets' : 'security groups'} not found: ${missing.join(', ')}`,
      );
    }
    return [...new Set(refs.map((r) => byId.get(r) ?? byName.get(r)!))].sort();
  }

  /** An AMI id from an id, `latest` (EKS-optimised for the family and version) or `ssm://<parameter>`. */
  async imageId(image: string, family: OsFamily, kubernetesVersion: string, arm: boolean): Promise<string> {
    if (image === 'latest') {
      if (family === 'amazonlinux2' || family === 'windows') {
        return this.ssmParameter(
          family === 'windows'
            ? `/aws/service/ami-windows-latest/Windows_Server-2019-English-Core-EKS_Optimized-${kubernetesVersion}/image_id`
            : `/aws/service/eks/optimized-ami/${kubernetesVersion}/amazon-linux-2${arm ? '-arm64' : ''}/recommended/image_id`,
        );
      }
      return eksOptimizedAmiId(
        this.aws,
        kubernetesVersion,
        family === 'bottlerocket' ? 'bottlerocket' : 'al2023',
        arm ? 'arm64' : 'x86_64',
      );
    }
    if (image.startsWith('ssm://')) return this.ssmParameter(image.slice('ssm://'.length));
    return image;
  }

  private ssmParameter(name: string): Promise<string> {
    const Name = name.startsWith('/') || name.startsWith('arn:') ? name : `/${name}`;
    return this.aws.cachedRead('ssm', 'GetParameter', { Name }, { ttlMs: TTL.ssm, tags: [] }, async () => {
      try {
        const out = await this.aws.ssm.send(new GetParameterCommand({ Name }));
        if (!out.Parameter?.Value)
          throw new NotFoundInAws('ImageNotFound', `SSM parameter ${Name} has no value`);
        return out.Parameter.Value;
      } catch (err) {
        if (classifyAwsError(err) === 'not-found' || (err as Error).name === 'ParameterNotFound')
          throw new NotFoundInAws('ImageNotFound', `SSM parameter ${Name} not found`);
        throw err;
      }
    });
  }

  // ---- IAM ----

  async role(name: string): Promise<Role | undefined> {
    return this.aws.cachedRead(
      'iam',
      'GetRole',
      { name },
      { ttlMs: TTL.iam, tags: [iamTag('role', name)] },
      async () => {
        try {
          return (await this.aws.iam.send(new GetRoleCommand({ RoleName: name }))).Role;
        } catch (err) {
          if (classifyAwsError(err) === 'not-found') return undefined;
          throw err;
        }
      },
    );
  }

  async instanceProfile(name: string): Promise<InstanceProfile | undefined> {
    return this.aws.cachedRead(
      'iam',
      'GetInstanceProfile',
      { name },
      { ttlMs: TTL.iam, tags: [iamTag('profile', name)] },
      async () => {
        try {
          return (await this.aws.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name })))
            .InstanceProfile;
        } catch (err) {
          if (classifyAwsError(err) === 'not-found') return undefined;
          throw err;
        }
      },
    );
  }

  async attachedPolicies(role: string): Promise<string[]> {
    return this.aws.cachedRead(
      'iam',
      'ListAttachedRolePolicies',
      { role },
      { ttlMs: TTL.iam, tags: [iamTag('role', role)] },
      async () => {
        const out = await this.aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role }));
        return (out.AttachedPolicies ?? []).map((p) => p.PolicyArn!).sort();
      },
    );
  }

  /** Creates the node role (EC2 trust) and its instance profile, tagged as owned. Idempotent. */
  async ensureNodeRole(
    name: string,
    tags: Record<string, string>,
    policies: string[],
  ): Promise<{ role: Role; profile: InstanceProfile }> {
    let role = await this.role(name);
    const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    if (!role) {
      const trust = {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      };
      role = (
        await this.aws.iam.send(
          new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust), Tags }),
        )
      ).Role!;
      this.aws.invalidate(iamTag('role', name));
    }
    let profile = await this.instanceProfile(name);
    if (!profile) {
      profile = (
        await this.aws.iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name, Tags }))
      ).InstanceProfile!;
      this.aws.invalidate(iamTag('profile', name));
    }
    if (!profile.Roles?.some((r) => r.RoleName === name)) {
      await this.aws.iam.send(
        new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }),
      );
      this.aws.invalidate(iamTag('profile', name));
      profile = (await this.instanceProfile(name)) ?? profile;
    }
    const attached = await this.attachedPolicies(name);
    const want = [...policies].sort();
    for (const arn of want.filter((p) => !attached.includes(p)))
      await this.aws.iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: arn }));
    for (const arn of attached.filter((p) => !want.includes(p)))
      await this.aws.iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: arn }));
    if (want.join() !== attached.join()) this.aws.invalidate(iamTag('role', name));
    return { role, profile };
  }

  /** Deletes a controller-created role and profile (policies detached first). Gone already is fine. */
  async deleteNodeRole(name: string): Promise<void> {
    const ignoreMissing = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        if (classifyAwsError(err) !== 'not-found') throw err;
      }
    };
    const profile = await this.instanceProfile(name);
    if (profile) {
      for (const r of profile.Roles ?? [])
        await ignoreMissing(
          this.aws.iam.send(
            new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: name, RoleName: r.RoleName! }),
          ),
        );
      await ignoreMissing(this.aws.iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: name })));
    }
    if (await this.role(name)) {
      for (const arn of await this.attachedPolicies(name))
        await ignoreMissing(
          this.aws.iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: arn })),
        );
      await ignoreMissing(this.aws.iam.send(new DeleteRoleCommand({ RoleName: name })));
    }
    this.aws.invalidate(iamTag('role', name), iamTag('profile', name));
  }

  // ---- launch templates ----

  async launchTemplate(name: string): Promise<LaunchTemplate | undefined> {
    return this.ec2.launchTemplate(name);
  }

  async launchTemplateVersion(name: string, version: number): Promise<LaunchTemplateVersion | undefined> {
    return (await this.ec2.launchTemplateVersions(name, [String(version)]))[0];
  }

  async createLaunchTemplate(
    name: string,
    data: RequestLaunchTemplateData,
    description: string,
    tags: Record<string, string>,
  ): Promise<LaunchTemplate> {
    const out = await this.aws.ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: name,
        LaunchTemplateData: data,
        VersionDescription: description,
        TagSpecifications: [
          {
            ResourceType: 'launch-template',
            Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
          },
        ],
      }),
    );
    this.aws.invalidate(launchTemplateTag(name), launchTemplateTag(out.LaunchTemplate!.LaunchTemplateId!));
    return out.LaunchTemplate!;
  }

  /** Adds a version and makes it the default; returns its number. */
  async addLaunchTemplateVersion(
    lt: LaunchTemplate,
    data: RequestLaunchTemplateData,
    description: string,
  ): Promise<number> {
    const v = await this.ec2.createLaunchTemplateVersion({
      LaunchTemplateId: lt.LaunchTemplateId,
      LaunchTemplateData: data,
      VersionDescription: description,
    });
    await this.setDefaultVersion(lt, v.VersionNumber!);
    return v.VersionNumber!;
  }

  async setDefaultVersion(lt: LaunchTemplate, version: number): Promise<void> {
    await this.aws.ec2.send(
      new ModifyLaunchTemplateCommand({
        LaunchTemplateId: lt.LaunchTemplateId,
        DefaultVersion: String(version),
      }),
    );
    this.aws.invalidate(launchTemplateTag(lt.LaunchTemplateName!), launchTemplateTag(lt.LaunchTemplateId!));
  }

  async deleteLaunchTemplateVersions(lt: LaunchTemplate, versions: number[]): Promise<void> {
    if (!versions.length) return;
    await this.aws.ec2.send(
      new DeleteLaunchTemplateVersionsCommand({
        LaunchTemplateId: lt.LaunchTemplateId,
        Versions: versions.map(String),
      }),
    );
    this.aws.invalidate(launchTemplateTag(lt.LaunchTemplateName!), launchTemplateTag(lt.LaunchTemplateId!));
  }

  async deleteLaunchTemplate(lt: LaunchTemplate): Promise<void> {
    try {
      await this.aws.ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: lt.LaunchTemplateId }));
    } catch (err) {
      if (classifyAwsError(err) !== 'not-found') throw err;
    }
    this.aws.invalidate(launchTemplateTag(lt.LaunchTemplateName!), launchTemplateTag(lt.LaunchTemplateId!));
  }

  // ---- Auto Scaling groups ----

  async autoScalingGroup(name: string): Promise<AutoScalingGroup | undefined> {
    return this.asgs.get(name);
  }

  async lifecycleHooks(name: string): Promise<LifecycleHook[]> {
    return this.aws.cachedRead(
      'autoscaling',
      'DescribeLifecycleHooks',
      { name },
      { ttlMs: TTL.hooks, tags: [asgTag(name)] },
      async () =>
        (await this.aws.autoScaling.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: name })))
          .LifecycleHooks ?? [],
    );
  }

  private asgSource(d: DesiredAsg) {
    return d.mixedInstancesPolicy
      ? { MixedInstancesPolicy: d.mixedInstancesPolicy }
      : { LaunchTemplate: { LaunchTemplateId: d.launchTemplate.id, Version: d.launchTemplate.version } };
  }

  async createAutoScalingGroup(d: DesiredAsg, managedKeys: string, managedKeysTag: string): Promise<void> {
    const tags = { ...d.tags, [managedKeysTag]: managedKeys };
    await this.aws.autoScaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: d.name,
        MinSize: d.minSize,
        MaxSize: d.maxSize,
        DesiredCapacity: d.minSize,
        VPCZoneIdentifier: d.subnetIds.join(','),
        ...this.asgSource(d),
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value, PropagateAtLaunch: true })),
      }),
    );
    this.asgs.written(d.name);
  }

  async updateAutoScalingGroup(d: DesiredAsg): Promise<void> {
    await this.aws.autoScaling.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: d.name,
        MinSize: d.minSize,
        MaxSize: d.maxSize,
        VPCZoneIdentifier: d.subnetIds.join(','),
        ...this.asgSource(d),
      }),
    );
    this.asgs.written(d.name);
  }

  async metrics(name: string, enable: string[], disable: string[]): Promise<void> {
    if (enable.length)
      await this.aws.autoScaling.send(
        new EnableMetricsCollectionCommand({
          AutoScalingGroupName: name,
          Granularity: '1Minute',
          Metrics: enable,
        }),
      );
    if (disable.length)
      await this.aws.autoScaling.send(
        new DisableMetricsCollectionCommand({ AutoScalingGroupName: name, Metrics: disable }),
      );
    if (enable.length || disable.length) this.asgs.written(name);
  }

  async hooks(name: string, put: DesiredHook[], remove: string[]): Promise<void> {
    for (const h of put)
      await this.aws.autoScaling.send(
        new PutLifecycleHookCommand({
          AutoScalingGroupName: name,
          LifecycleHookName: h.name,
          LifecycleTransition: h.transition,
          DefaultResult: h.defaultResult,
          HeartbeatTimeout: h.heartbeatTimeout,
          ...(h.notificationArn ? { NotificationTargetARN: h.notificationArn } : {}),
          ...(h.roleArn ? { RoleARN: h.roleArn } : {}),
          ...(h.metadata ? { NotificationMetadata: h.metadata } : {}),
        }),
      );
    for (const n of remove)
      await this.aws.autoScaling.send(
        new DeleteLifecycleHookCommand({ AutoScalingGroupName: name, LifecycleHookName: n }),
      );
    if (put.length || remove.length) this.asgs.written(name);
  }

  async warmPool(name: string, pool: DesiredAsg['warmPool'] | 'delete'): Promise<void> {
    if (pool === 'delete') {
      await this.aws.autoScaling.send(
        new DeleteWarmPoolCommand({ AutoScalingGroupName: name, ForceDelete: true }),
      );
    } else if (pool) {
      await this.aws.autoScaling.send(
        new PutWarmPoolCommand({
          AutoScalingGroupName: name,
          MinSize: pool.minSize,
          MaxGroupPreparedCapacity: pool.maxPreparedCapacity,
        }),
      );
    }
    this.asgs.written(name);
  }

  async deleteAutoScalingGroup(name: string): Promise<void> {
    try {
      await this.aws.autoScaling.send(
        new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name, ForceDelete: true }),
      );
    } catch (err) {
      if (classifyAwsError(err) !== 'not-found' && !/not found/i.test((err as Error).message)) throw err;
    }
    this.asgs.written(name);
  }

  async instances(ids: string[]): Promise<Instance[]> {
    return ids.length ? this.ec2.instances(ids) : [];
  }
}
