/**
 * The launch template version a group wants, from its (defaulted) spec and the facts resolved from
 * AWS (AMI id, subnet and security-group ids, instance profile, cluster). Pure.
 *
 * Drift is decided by a content hash stored as the version's description (`keiko:<sha256>`): AWS
 * normalises what it returns (and emulators differ), while the hash of what we asked for is exact,
 * and a version someone added by hand never carries the hash of the desired data.
 */
import { createHash } from 'node:crypto';
import type { RequestLaunchTemplateData } from '@aws-sdk/client-ec2';
import type { EksConfiguration } from '../api/instancegroup.js';

export const VERSION_DESCRIPTION_PREFIX = 'keiko:';

export interface ResolvedFacts {
  imageId: string;
  securityGroupIds: string[];
  instanceProfileArn?: string;
  /** Plain-text user data. */
  userData: string;
}

/** Default root volume, as upstream: /dev/xvda gp2 32 GiB. */
export const DEFAULT_VOLUME = { name: '/dev/xvda', type: 'gp2', size: 32 } as const;

export function desiredLaunchTemplateData(
  config: EksConfiguration,
  facts: ResolvedFacts,
): RequestLaunchTemplateData {
  const volumes = config.volumes?.length ? config.volumes : [DEFAULT_VOLUME];
  const metadata = config.metadataOptions ?? {};
  const data: RequestLaunchTemplateData = {
    ImageId: facts.imageId,
    InstanceType: config.instanceType as RequestLaunchTemplateData['InstanceType'],
    SecurityGroupIds: [...new Set(facts.securityGroupIds)].sort(),
    UserData: Buffer.from(facts.userData).toString('base64'),
    BlockDeviceMappings: volumes.map((v) => ({
      DeviceName: v.name,
      Ebs: {
        VolumeType: v.type as 'gp3',
        ...('size' in v && v.size !== undefined ? { VolumeSize: v.size } : {}),
        ...('iops' in v && v.iops !== undefined ? { Iops: v.iops } : {}),
        ...('throughput' in v && v.throughput !== undefined ? { Throughput: v.throughput } : {}),
        ...('encrypted' in v && v.encrypted !== undefined ? { Encrypted: v.encrypted } : {}),
        ...('snapshotId' in v && v.snapshotId ? { SnapshotId: v.snapshotId } : {}),
        DeleteOnTermination: 'deleteOnTermination' in v ? (v.deleteOnTermination ?? true) : true,
      },
    })),
    // IMDSv2 by default (upstream left IMDSv1 on unless asked).
    MetadataOptions: {
      HttpEndpoint: metadata.httpEndpoint ?? 'enabled',
      HttpTokens: metadata.httpTokens ?? 'required',
      HttpPutResponseHopLimit: metadata.httpPutHopLimit ?? 2,
    },
  };
  if (config.keyPairName) data.KeyName = config.keyPairName;
  if (facts.instanceProfileArn) data.IamInstanceProfile = { Arn: facts.instanceProfileArn };
  if (config.placement) {
    data.Placement = {
      ...(config.placement.availabilityZone ? { AvailabilityZone: config.placement.availabilityZone } : {}),
      ...(config.placement.hostResourceGroupArn
        ? { HostResourceGroupArn: config.placement.hostResourceGroupArn }
        : {}),
      ...(config.placement.tenancy ? { Tenancy: config.placement.tenancy } : {}),
    };
  }
  if (config.licenseSpecifications?.length) {
    data.LicenseSpecifications = config.licenseSpecifications.map((LicenseConfigurationArn) => ({
      LicenseConfigurationArn,
    }));
  }
  if (config.tagSpecifications?.length) {
    data.TagSpecifications = config.tagSpecifications.map((t) => ({
      ResourceType: t.resourceType,
      Tags: (t.tags ?? []).map((x) => ({ Key: x.key, Value: x.value })),
    }));
  }
  return data;
}

/** Stable hash of launch template data (keys sorted). */
export function launchTemplateHash(data: RequestLaunchTemplateData): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .filter(([, x]) => x !== undefined)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, x]) => [k, canonical(x)]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(data)))
    .digest('hex')
    .slice(0, 32);
}

export const versionDescription = (hash: string) => `${VERSION_DESCRIPTION_PREFIX}${hash}`;

/** Versions to delete: all but the default, the latest and the newest `retain` others. */
export function versionsToPrune(
  versions: readonly number[],
  keep: { defaultVersion?: number; inUse?: readonly number[] },
  retain: number,
): number[] {
  const sorted = [...new Set(versions)].sort((a, b) => b - a);
  const protect = new Set([...(keep.inUse ?? []), ...(keep.defaultVersion ? [keep.defaultVersion] : [])]);
  if (sorted[0] !== undefined) protect.add(sorted[0]);
  const others = sorted.filter((v) => !protect.has(v));
  return others.slice(retain).sort((a, b) => a - b);
}
