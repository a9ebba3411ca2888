/**
 * EC2 helpers: instances by id in pages (never a region-wide scan), instances by tag, launch
 * templates and their versions, the template version an instance really runs, instance types and
 * spot price history.
 */
import {
  type _InstanceType,
  CreateLaunchTemplateVersionCommand,
  type CreateLaunchTemplateVersionCommandInput,
  DescribeInstancesCommand,
  type DescribeInstancesCommandInput,
  DescribeInstanceTypesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSpotPriceHistoryCommand,
  type Filter,
  type Instance,
  type InstanceTypeInfo,
  type LaunchTemplate,
  type LaunchTemplateVersion,
  type SpotPrice,
} from '@aws-sdk/client-ec2';
import { chunk, type ReadOptions } from './autoscaling.js';
import { KeyError } from './batch.js';
import type { AwsClients } from './clients.js';
import { DEFAULT_TTL_MS } from './ttl.js';

/** Instance ids per DescribeInstances call (AWS allows 1,000; smaller pages answer sooner). */
export const INSTANCE_IDS_PER_CALL = 200;

/** Launch template ids or names per DescribeLaunchTemplates call. */
const LAUNCH_TEMPLATES_PER_CALL = 200;

export const instanceTag = (id: string): string => `ec2:instance:${id}`;
export const launchTemplateTag = (idOrName: string): string => `ec2:lt:${idOrName}`;

/** The launch template an instance was launched from, from the tags EC2 puts on it. */
export interface InstanceLaunchTemplate {
  launchTemplateId: string;
  version: string;
}

/**
 * The template and version `instance` was really launched from. DescribeAutoScalingGroups reports
 * the group's *current* template for every instance; only these EC2-managed tags tell which
 * version an older instance runs, which is what a rolling upgrade needs to know.
 */
export function instanceLaunchTemplate(instance: Pick<Instance, 'Tags'>): InstanceLaunchTemplate | undefined {
  const tag = (key: string) => instance.Tags?.find((t) => t.Key === key)?.Value;
  const launchTemplateId = tag('aws:ec2launchtemplate:id');
  const version = tag('aws:ec2launchtemplate:version');
  return launchTemplateId && version ? { launchTemplateId, version } : undefined;
}

export class Ec2 {
  constructor(private readonly aws: AwsClients) {}

  /**
   * The instances with these ids (missing ones are absent). Each instance is cached on its own; the
   * ids not cached are read in batched calls of up to {@link INSTANCE_IDS_PER_CALL}, shared with every
   * other read of instances by id on the same AwsClients (see KeyBatcher).
   */
  async instances(ids: readonly string[], options: ReadOptions = {}): Promise<Instance[]> {
    const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS.instance;
    const unique = [...new Set(ids)].sort();
    const found = await Promise.all(
      unique.map((id) =>
        this.aws.cachedRead('ec2', 'DescribeInstances', { id }, { ttlMs, tags: [instanceTag(id)] }, () =>
          this.byId().load(id),
        ),
      ),
    );
    // An id not found is not remembered: it may be an instance not yet visible (EC2 is eventually
    // consistent), which the next read must find.
    const missing = unique.filter((_, i) => found[i] === undefined);
    if (missing.length > 0) this.aws.invalidate(...missing.map(instanceTag));
    return found.filter((i): i is Instance => i !== undefined);
  }

  private byId() {
    return this.aws.batcher<Instance>(
      'ec2:instances-by-id',
      // With InstanceIds, one unknown id fails the whole call; a filter on the id does not.
      async (ids) =>
        new Map(
          (await this.describeAll({ Filters: [{ Name: 'instance-id', Values: ids }] })).map((i) => [
            i.InstanceId!,
            i,
          ]),
        ),
      { maxKeys: INSTANCE_IDS_PER_CALL },
    );
  }

  /** Instances whose tags match (`{ key: value }`, or `{ key: undefined }` for any value). */
  async instancesByTags(
    tags: Record<string, string | readonly string[] | undefined>,
    options: ReadOptions & { states?: readonly string[] } = {},
  ): Promise<Instance[]> {
    const filters: Filter[] = Object.entries(tags).map(([key, value]) =>
      value === undefined
        ? { Name: 'tag-key', Values: [key] }
        : { Name: `tag:${key}`, Values: typeof value === 'string' ? [value] : [...value] },
    );
    if (options.states) filters.push({ Name: 'instance-state-name', Values: [...options.states] });
    return this.aws.cachedRead(
      'ec2',
      'DescribeInstances',
      { filters },
      { ttlMs: options.ttlMs ?? DEFAULT_TTL_MS.instance, tags: ['ec2:instance:*'] },
      () => this.describeAll({ Filters: filters }),
    );
  }

  async launchTemplate(idOrName: string, options: ReadOptions = {}): Promise<LaunchTemplate | undefined> {
    const byId = idOrName.startsWith('lt-');
    return this.aws.cachedRead(
      'ec2',
      'DescribeLaunchTemplates',
      { idOrName },
      { ttlMs: options.ttlMs ?? DEFAULT_TTL_MS.launchTemplate, tags: [launchTemplateTag(idOrName)] },
      () => this.templates(byId).load(idOrName),
    );
  }

  /**
   * Templates by id (or by name), batched: one unknown or malformed id fails a whole
   * DescribeLaunchTemplates call, so a batch that fails that way is asked again one template at a
   * time; then a template not found is undefined and any other failure is that template's alone.
   */
  private templates(byId: boolean) {
    const describe = async (keys: string[]) => {
      const out = await this.aws.ec2.send(
        new DescribeLaunchTemplatesCommand(
          byId ? { LaunchTemplateIds: keys } : { LaunchTemplateNames: keys },
        ),
      );
      return new Map(
        (out.LaunchTemplates ?? []).map((t) => [(byId ? t.LaunchTemplateId : t.LaunchTemplateName)!, t]),
      );
    };
    const name = (err: unknown) => (err as { name?: string }).name ?? '';
    const notFound = (err: unknown) => name(err).includes('NotFound');
    return this.aws.batcher<LaunchTemplate>(
      byId ? 'ec2:launch-templates-by-id' : 'ec2:launch-templates-by-name',
      async (keys) => {
        try {
          return await describe(keys);
        } catch (err) {
          if (keys.length === 1 && notFound(err)) return new Map();
          if (keys.length === 1 || !name(err).startsWith('InvalidLaunchTemplate')) throw err;
          const found = new Map<string, LaunchTemplate | KeyError>();
          for (const key of keys) {
            try {
              for (const [k, t] of await describe([key])) found.set(k, t);
            } catch (e) {
              if (!notFound(e)) found.set(key, new KeyError(e));
            }
          }
          return found;
        }
      },
      { maxKeys: LAUNCH_TEMPLATES_PER_CALL },
    );
  }

  /** Versions of a template (`$Latest`, `$Default` or numbers); all of them when none are named. */
  async launchTemplateVersions(
    idOrName: string,
    versions?: readonly string[],
    options: ReadOptions = {},
  ): Promise<LaunchTemplateVersion[]> {
    const byId = idOrName.startsWith('lt-');
    return this.aws.cachedRead(
      'ec2',
      'DescribeLaunchTemplateVersions',
      { idOrName, versions },
      { ttlMs: options.ttlMs ?? DEFAULT_TTL_MS.launchTemplate, tags: [launchTemplateTag(idOrName)] },
      async () => {
        const out: LaunchTemplateVersion[] = [];
        let NextToken: string | undefined;
        do {
          const page = await this.aws.ec2.send(
            new DescribeLaunchTemplateVersionsCommand({
              ...(byId ? { LaunchTemplateId: idOrName } : { LaunchTemplateName: idOrName }),
              ...(versions ? { Versions: [...versions] } : {}),
              NextToken,
            }),
          );
          out.push(...(page.LaunchTemplateVersions ?? []));
          NextToken = page.NextToken;
        } while (NextToken);
        return out;
      },
    );
  }

  /** Adds a version to a template; invalidates the template's cached reads. */
  async createLaunchTemplateVersion(
    input: CreateLaunchTemplateVersionCommandInput,
  ): Promise<LaunchTemplateVersion> {
    const out = await this.aws.ec2.send(new CreateLaunchTemplateVersionCommand(input));
    const version = out.LaunchTemplateVersion!;
    this.aws.invalidate(
      ...[
        input.LaunchTemplateId,
        input.LaunchTemplateName,
        version.LaunchTemplateId,
        version.LaunchTemplateName,
      ]
        .filter((v): v is string => Boolean(v))
        .map(launchTemplateTag),
    );
    return version;
  }

  /** Instance type facts (vCPUs, memory, architectures); cached for a day. */
  async instanceTypes(types: readonly string[], options: ReadOptions = {}): Promise<InstanceTypeInfo[]> {
    const unique = [...new Set(types)].sort();
    const pages = await Promise.all(
      chunk(unique, 100).map((batch) =>
        this.aws.cachedRead(
          'ec2',
          'DescribeInstanceTypes',
          { types: batch },
          { ttlMs: options.ttlMs ?? DEFAULT_TTL_MS.instanceType, tags: [] },
          async () => {
            const out: InstanceTypeInfo[] = [];
            let NextToken: string | undefined;
            do {
              const page = await this.aws.ec2.send(
                new DescribeInstanceTypesCommand({ InstanceTypes: batch as _InstanceType[], NextToken }),
              );
              out.push(...(page.InstanceTypes ?? []));
              NextToken = page.NextToken;
            } while (NextToken);
            return out;
          },
        ),
      ),
    );
    return pages.flat();
  }

  /** Spot price history for Linux/UNIX of the given types, zones and start time (all pages). */
  async spotPriceHistory(
    query: { instanceTypes: readonly string[]; availabilityZones?: readonly string[]; since?: Date },
    options: ReadOptions = {},
  ): Promise<SpotPrice[]> {
    const filters: Filter[] = [];
    if (query.availabilityZones)
      filters.push({ Name: 'availability-zone', Values: [...query.availabilityZones] });
    return this.aws.cachedRead(
      'ec2',
      'DescribeSpotPriceHistory',
      { ...query, since: query.since?.toISOString() },
      { ttlMs: options.ttlMs ?? DEFAULT_TTL_MS.spotPrice, tags: [] },
      async () => {
        const out: SpotPrice[] = [];
        let NextToken: string | undefined;
        do {
          const page = await this.aws.ec2.send(
            new DescribeSpotPriceHistoryCommand({
              InstanceTypes: query.instanceTypes as _InstanceType[],
              ProductDescriptions: ['Linux/UNIX'],
              ...(filters.length > 0 ? { Filters: filters } : {}),
              ...(query.since ? { StartTime: query.since } : {}),
              NextToken,
            }),
          );
          out.push(...(page.SpotPriceHistory ?? []));
          NextToken = page.NextToken || undefined;
        } while (NextToken);
        return out;
      },
    );
  }

  private async describeAll(input: DescribeInstancesCommandInput): Promise<Instance[]> {
    const out: Instance[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.aws.ec2.send(new DescribeInstancesCommand({ ...input, NextToken }));
      for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  }
}
