/**
 * Minimal unsigned AWS requests to the emulator, for the harness's own set-up (accounts, seeding).
 * testkit stays free of the AWS SDK; controllers and tests use aws-kit. moto does not check
 * signatures, but it reads the access key id from the `Authorization` header to pick the account,
 * so every request carries one.
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface WireTarget {
  endpoint: string;
  region: string;
  credentials: AwsCredentials;
}

function authorization(t: WireTarget, service: string): Record<string, string> {
  const scope = `${t.credentials.accessKeyId}/20260101/${t.region}/${service}/aws4_request`;
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=host, Signature=0`,
    ...(t.credentials.sessionToken ? { 'x-amz-security-token': t.credentials.sessionToken } : {}),
  };
}

/** An AWS Query-protocol call (EC2, STS, IAM, AutoScaling); returns the XML body or throws. */
export async function queryCall(
  t: WireTarget,
  service: string,
  version: string,
  action: string,
  params: Record<string, string> = {},
): Promise<string> {
  const body = new URLSearchParams({ Action: action, Version: version, ...params });
  const res = await fetch(t.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...authorization(t, service) },
    body,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`testkit: ${service} ${action} failed: ${res.status} ${text.slice(0, 500)}`);
  return text;
}

/** A REST-JSON call (EKS); returns the parsed body or throws. */
export async function restJsonCall(
  t: WireTarget,
  service: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(new URL(path, t.endpoint), {
    method,
    headers: { 'content-type': 'application/json', ...authorization(t, service) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok)
    throw new Error(`testkit: ${service} ${method} ${path} failed: ${res.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Every text value of `<tag>` in an XML document (enough for the flat answers used here). */
export function xmlValues(xml: string, tag: string): string[] {
  const re = new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g');
  return [...xml.matchAll(re)].map((m) => m[1]!);
}

export function xmlValue(xml: string, tag: string): string {
  const v = xmlValues(xml, tag)[0];
  if (v === undefined) throw new Error(`testkit: <${tag}> missing in AWS answer: ${xml.slice(0, 300)}`);
  return v;
}

/** `Tag.N.Key/Value` style parameters under a prefix, as the Query protocol encodes lists. */
export function tagParams(prefix: string, tags: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  Object.entries(tags).forEach(([k, v], i) => {
    out[`${prefix}.${i + 1}.Key`] = k;
    out[`${prefix}.${i + 1}.Value`] = v;
  });
  return out;
}
