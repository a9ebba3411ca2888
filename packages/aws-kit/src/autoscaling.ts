/**
 * Auto Scaling group helpers: look-ups by name or by tag (never a region-wide scan), and the writes
 * Keiko's tools make, each invalidating the cached reads of the group it touched.
 */
import {
  type AutoScalingGroup,
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
  DescribeAutoScalingGroupsCommand,
  type DescribeAutoScalingGroupsCommandInput,
  EnterStandbyCommand,
  ExitStandbyCommand,
  type Filter,
  ResumeProcessesCommand,
  SetDesiredCapacityCommand,
  SuspendProcessesCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import type { AwsClients } from './clients.js';
import { DEFAULT_TTL_MS } from './ttl.js';

/** Enter/ExitStandby accept at most 19 instance ids per call. */
export const STANDBY_CHUNK = 19;
/** DescribeAutoScalingGroups accepts at most 100 names and returns at most 100 groups per page. */
const NAMES_PER_CALL = 100;

/** Cache tag of one group; writes to it invalidate reads that returned it. */
export const asgTag = (name: string): string => `asg:${name}`;
/** Cache tag of every by-tag group query (any write may change what they return). */
export const ASG_QUERY_TAG = 'asg:*';

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface ReadOptions {
  /** Override the cache lifetime (0: coalesce only, keep nothing). */
  ttlMs?: number;
}

export class AutoScalingGroups {
  constructor(private readonly aws: AwsClients) {}

  /**
   * The named groups that exist (missing names are simply absent). Each group is cached on its own;
   * the names not cached are read in batched calls of up to 100, shared with every other read of
   * groups by name on the same AwsClients (see KeyBatcher).
   */
  async describe(names: readonly string[], options: ReadOptions = {}): Promise<AutoScalingGroup[]> {
    const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS.autoScalingGroup;
    const groups = await Promise.all(
      [...new Set(names)]
        .sort()
        .map((name) =>
          this.aws.cachedRead(
            'autoscaling',
            'DescribeAutoScalingGroups',
            { name },
            { ttlMs, tags: [asgTag(name)] },
            () => this.byName().load(name),
          ),
        ),
    );
    return groups.filter((g): g is AutoScalingGroup => g !== undefined);
  }

  /** One group, or undefined if it does not exist. */
  async get(name: string, options: ReadOptions = {}): Promise<AutoScalingGroup | undefined> {
    return (await this.describe([name], options))[0];
  }

  private byName() {
    return this.aws.batcher<AutoScalingGroup>(
      'autoscaling:groups-by-name',
      async (names) =>
        new Map(
          (await this.describeAll({ AutoScalingGroupNames: names })).map((g) => [g.AutoScalingGroupName!, g]),
        ),
      { maxKeys: NAMES_PER_CALL },
    );
  }

  /**
   * Groups whose tags match: `{ key: value }` matches that value, `{ key: undefined }` any value,
   * `{ key: [v1, v2] }` either. Filtered by AWS, not by scanning every group.
   */
  async findByTags(
    tags: Record<string, string | readonly string[] | undefined>,
    options: ReadOptions = {},
  ): Promise<AutoScalingGroup[]> {
    const filters: Filter[] = Object.entries(tags).map(([key, value]) =>
      value === undefined
        ? { Name: 'tag-key', Values: [key] }
        : { Name: `tag:${key}`, Values: typeof value === 'string' ? [value] : [...value] },
    );
    return this.aws.cachedRead(
      'autoscaling',
      'DescribeAutoScalingGroups',
      { filters },
      { ttlMs: options.ttlMs ?? DEFAULT_TTL_MS.autoScalingGroup, tags: [ASG_QUERY_TAG] },
      () => this.describeAll({ Filters: filters }),
    );
  }

  async setDesiredCapacity(name: string, desiredCapacity: number, honorCooldown = false): Promise<void> {
    await this.aws.autoScaling.send(
      new SetDesiredCapacityCommand({
        AutoScalingGroupName: name,
        DesiredCapacity: desiredCapacity,
        HonorCooldown: honorCooldown,
      }),
    );
    this.written(name);
  }

  /**
   * Terminates one instance through its group. Without decrement the group launches a replacement;
   * with it the group shrinks by one. Returns the group's name from the scaling activity.
   */
  async terminateInstance(
    instanceId: string,
    decrementDesiredCapacity: boolean,
  ): Promise<string | undefined> {
    const out = await this.aws.autoScaling.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: instanceId,
        ShouldDecrementDesiredCapacity: decrementDesiredCapacity,
      }),
    );
    const group = out.Activity?.AutoScalingGroupName;
    this.written(group);
    this.aws.invalidate(`ec2:instance:${instanceId}`);
    return group;
  }

  /** Moves instances to Standby, in calls of at most 19. */
  async enterStandby(
    name: string,
    instanceIds: readonly string[],
    decrementDesiredCapacity: boolean,
  ): Promise<void> {
    for (const batch of chunk(instanceIds, STANDBY_CHUNK)) {
      await this.aws.autoScaling.send(
        new EnterStandbyCommand({
          AutoScalingGroupName: name,
          InstanceIds: batch,
          ShouldDecrementDesiredCapacity: decrementDesiredCapacity,
        }),
      );
    }
    this.written(name);
  }

  /** Returns instances from Standby to InService, in calls of at most 19. */
  async exitStandby(name: string, instanceIds: readonly string[]): Promise<void> {
    for (const batch of chunk(instanceIds, STANDBY_CHUNK)) {
      await this.aws.autoScaling.send(
        new ExitStandbyCommand({ AutoScalingGroupName: name, InstanceIds: batch }),
      );
    }
    this.written(name);
  }

  /** Suspends scaling processes (e.g. `AZRebalance`, `Launch`); all of them when none are named. */
  async suspendProcesses(name: string, processes?: readonly string[]): Promise<void> {
    await this.aws.autoScaling.send(
      new SuspendProcessesCommand({
        AutoScalingGroupName: name,
        ...(processes ? { ScalingProcesses: [...processes] } : {}),
      }),
    );
    this.written(name);
  }

  async resumeProcesses(name: string, processes?: readonly string[]): Promise<void> {
    await this.aws.autoScaling.send(
      new ResumeProcessesCommand({
        AutoScalingGroupName: name,
        ...(processes ? { ScalingProcesses: [...processes] } : {}),
      }),
    );
    this.written(name);
  }

  /** Creates or overwrites tags on the group. */
  async putTags(name: string, tags: Record<string, string>, propagateAtLaunch = false): Promise<void> {
    await this.aws.autoScaling.send(
      new CreateOrUpdateTagsCommand({
        Tags: Object.entries(tags).map(([Key, Value]) => ({
          ResourceId: name,
          ResourceType: 'auto-scaling-group',
          Key,
          Value,
          PropagateAtLaunch: propagateAtLaunch,
        })),
      }),
    );
    this.written(name);
  }

  async deleteTags(name: string, keys: readonly string[]): Promise<void> {
    await this.aws.autoScaling.send(
      new DeleteTagsCommand({
        Tags: keys.map((Key) => ({ ResourceId: name, ResourceType: 'auto-scaling-group', Key })),
      }),
    );
    this.written(name);
  }

  /** Call after any write to `name` made outside these helpers. */
  written(name: string | undefined): void {
    this.aws.invalidate(ASG_QUERY_TAG, ...(name ? [asgTag(name)] : []));
  }

  private async describeAll(input: DescribeAutoScalingGroupsCommandInput): Promise<AutoScalingGroup[]> {
    const groups: AutoScalingGroup[] = [];
    let NextToken: string | undefined;
    do {
      const out = await this.aws.autoScaling.send(
        new DescribeAutoScalingGroupsCommand({ ...input, MaxRecords: NAMES_PER_CALL, NextToken }),
      );
      groups.push(...(out.AutoScalingGroups ?? []));
      NextToken = out.NextToken;
    } while (NextToken);
    return groups;
  }
}
