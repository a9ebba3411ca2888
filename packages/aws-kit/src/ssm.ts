/** The EKS-optimised AMI ids AWS publishes as public SSM parameters. */
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import type { ReadOptions } from './autoscaling.js';
import type { AwsClients } from './clients.js';
import { DEFAULT_TTL_MS } from './ttl.js';

export type AmiFamily = 'al2023' | 'bottlerocket';
export type Architecture = 'x86_64' | 'arm64';

/** The SSM parameter name publishing the recommended AMI of a family for a Kubernetes minor. */
export function eksAmiParameter(
  kubernetesVersion: string,
  family: AmiFamily,
  arch: Architecture = 'x86_64',
): string {
  return family === 'al2023'
    ? `/aws/service/eks/optimized-ami/${kubernetesVersion}/amazon-linux-2023/${arch}/standard/recommended/image_id`
    : `/aws/service/bottlerocket/aws-k8s-${kubernetesVersion}/${arch}/latest/image_id`;
}

export async function eksOptimizedAmiId(
  aws: AwsClients,
  kubernetesVersion: string,
  family: AmiFamily,
  arch: Architecture = 'x86_64',
  options: ReadOptions = {},
): Promise<string> {
  const Name = eksAmiParameter(kubernetesVersion, family, arch);
  return aws.cachedRead(
    'ssm',
    'GetParameter',
    { Name },
    { ttlMs: options.ttlMs ?? DEFAULT_TTL_MS.ssmParameter, tags: [] },
    async () => {
      const out = await aws.ssm.send(new GetParameterCommand({ Name }));
      const value = out.Parameter?.Value;
      if (!value) throw new Error(`aws-kit: SSM parameter ${Name} has no value`);
      return value;
    },
  );
}
