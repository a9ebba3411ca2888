/**
 * Where aws-kit's settings come from: explicit options (a tool's flags) first, then the standard
 * AWS environment, then the instance metadata service for the region.
 */

/** The region: `flag`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else IMDSv2, else an error. */
export async function resolveRegion(flag?: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromEnv = flag || env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (fromEnv) return fromEnv;
  if (env.AWS_EC2_METADATA_DISABLED !== 'true') {
    const fromImds = await regionFromImds(env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? 'http://169.254.169.254');
    if (fromImds) return fromImds;
  }
  throw new Error('aws-kit: no AWS region: pass --region, or set AWS_REGION (IMDS did not answer either)');
}

/** The region from IMDSv2 (token first), or undefined within ~1 s when there is no IMDS. */
export async function regionFromImds(base: string, timeoutMs = 1_000): Promise<string | undefined> {
  try {
    const tokenRes = await fetch(`${base}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!tokenRes.ok) return undefined;
    const token = await tokenRes.text();
    const res = await fetch(`${base}/latest/meta-data/placement/region`, {
      headers: { 'x-aws-ec2-metadata-token': token },
      signal: AbortSignal.timeout(timeoutMs),
    });
    return res.ok ? (await res.text()).trim() || undefined : undefined;
  } catch {
    return undefined;
  }
}
