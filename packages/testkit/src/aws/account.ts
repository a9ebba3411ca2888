/**
 * Test AWS accounts on the shared emulator, seeded like an EKS account.
 *
 * Every test file (and the sandbox) gets an account of its own: a random account id reached through
 * STS AssumeRole (moto files the returned access key under the role's account). Resources in one
 * account are invisible from another, which gives test files the fresh emulator of a reset without
 * wiping the state of a file running in parallel.
 *
 * The seed is what an EKS cluster's account holds before any node group exists: a VPC, a private
 * subnet per availability zone (three) with Name and cluster tags, a cluster and a node security
 * group, the EKS cluster itself, and the SSM parameters that publish EKS-optimised AMI ids.
 */
import { randomInt } from 'node:crypto';
import { versions } from '../versions.js';
import {
  type AwsCredentials,
  queryCall,
  restJsonCall,
  tagParams,
  type WireTarget,
  xmlValue,
  xmlValues,
} from './wire.js';

/** The tag that marks a resource as part of a cluster, as EKS and the AWS cloud provider use it. */
export function clusterTagKey(clusterName: string): string {
  return `kubernetes.io/cluster/${clusterName}`;
}

export interface SeededSubnet {
  subnetId: string;
  availabilityZone: string;
  name: string;
  cidrBlock: string;
}

export interface TestAwsAccount {
  accountId: string;
  region: string;
  /** The emulator's URL (`AWS_ENDPOINT_URL`). */
  endpoint: string;
  /** Credentials of the account (an assumed role's temporary key). */
  credentials: AwsCredentials;
  clusterName: string;
  /** `kubernetes.io/cluster/<clusterName>`: tag instances with it (value `owned`) to get Nodes. */
  clusterTagKey: string;
  vpcId: string;
  subnets: SeededSubnet[];
  securityGroups: { cluster: string; node: string };
  /** AMI ids published under the EKS SSM parameters, and the parameter names. */
  amis: { al2023: string; bottlerocket: string; parameters: Record<string, string> };
  kubernetesVersion: string;
  /** Environment for a process (a controller) that should act in this account. */
  env(): Record<string, string>;
}

export interface TestAwsAccountOptions {
  /** Defaults to `AWS_ENDPOINT_URL` from the environment (set by the jest global setup). */
  endpoint?: string;
  /** Defaults to `AWS_REGION`, then us-east-1. */
  region?: string;
  /** The EKS cluster name; also the cluster tag. */
  clusterName: string;
  /** A fixed account id; by default a random one (never moto's default 123456789012). */
  accountId?: string;
}

const EC2 = '2016-11-15';

/** Creates an isolated account on the emulator and seeds it (see the module comment). */
export async function createTestAwsAccount(options: TestAwsAccountOptions): Promise<TestAwsAccount> {
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL;
  if (!endpoint) {
    throw new Error(
      'testkit: no AWS_ENDPOINT_URL. Ask the jest global setup for the emulator (see testkit README) ' +
        'or pass the endpoint of a running moto.',
    );
  }
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const accountId = options.accountId ?? String(randomInt(100_000_000_000, 999_999_999_999));
  const bootstrap: WireTarget = {
    endpoint,
    region,
    credentials: { accessKeyId: 'AKIAKEIKOBOOTSTRAP00', secretAccessKey: 'testing' },
  };
  const assumed = await queryCall(bootstrap, 'sts', '2011-06-15', 'AssumeRole', {
    RoleArn: `arn:aws:iam::${accountId}:role/keiko-test`,
    RoleSessionName: 'keiko-testkit',
  });
  const credentials: AwsCredentials = {
    accessKeyId: xmlValue(assumed, 'AccessKeyId'),
    secretAccessKey: xmlValue(assumed, 'SecretAccessKey'),
    sessionToken: xmlValue(assumed, 'SessionToken'),
  };
  const t: WireTarget = { endpoint, region, credentials };
  const cluster = options.clusterName;
  const clusterTag = { [clusterTagKey(cluster)]: 'owned' };

  // A second octet of its own per account: moto hands out private IPs per account, and Nodes are named
  // by private DNS name, so two test files in one run must not both get ip-10-0-0-9 (they would drain
  // each other's nodes). Derived from the account id, which is random unless fixed.
  const octet = 1 + (Number(accountId.slice(-6)) % 250);
  const vpcId = xmlValue(
    await queryCall(t, 'ec2', EC2, 'CreateVpc', {
      CidrBlock: `10.${octet}.0.0/16`,
      'TagSpecification.1.ResourceType': 'vpc',
      ...tagParams('TagSpecification.1.Tag', { Name: `${cluster}-vpc`, ...clusterTag }),
    }),
    'vpcId',
  );
  // /18 subnets: room for 16k addresses each, so the 1,000-instance benchmark never runs out.
  const subnets: SeededSubnet[] = [];
  for (const [i, suffix] of ['a', 'b', 'c'].entries()) {
    const availabilityZone = `${region}${suffix}`;
    const name = `${cluster}-private-${availabilityZone}`;
    const cidrBlock = `10.${octet}.${i * 64}.0/18`;
    const xml = await queryCall(t, 'ec2', EC2, 'CreateSubnet', {
      VpcId: vpcId,
      CidrBlock: cidrBlock,
      AvailabilityZone: availabilityZone,
      'TagSpecification.1.ResourceType': 'subnet',
      ...tagParams('TagSpecification.1.Tag', {
        Name: name,
        ...clusterTag,
        'kubernetes.io/role/internal-elb': '1',
      }),
    });
    subnets.push({ subnetId: xmlValue(xml, 'subnetId'), availabilityZone, name, cidrBlock });
  }
  const securityGroup = async (name: string, description: string) =>
    xmlValue(
      await queryCall(t, 'ec2', EC2, 'CreateSecurityGroup', {
        GroupName: name,
        GroupDescription: description,
        VpcId: vpcId,
        'TagSpecification.1.ResourceType': 'security-group',
        ...tagParams('TagSpecification.1.Tag', { Name: name, ...clusterTag }),
      }),
      'groupId',
    );
  const securityGroups = {
    cluster: await securityGroup(`eks-cluster-sg-${cluster}`, 'EKS cluster security group'),
    node: await securityGroup(`${cluster}-node`, 'EKS worker nodes'),
  };

  const minor = versions().kubernetes.replace(/^v/, '').split('.').slice(0, 2).join('.');
  await restJsonCall(t, 'eks', 'POST', '/clusters', {
    name: cluster,
    version: minor,
    roleArn: `arn:aws:iam::${accountId}:role/${cluster}-cluster`,
    resourcesVpcConfig: {
      subnetIds: subnets.map((s) => s.subnetId),
      securityGroupIds: [securityGroups.cluster],
    },
    tags: { Name: cluster },
  });

  // Two of moto's bundled Amazon images stand in for the EKS-optimised ones, so RunInstances with
  // the published ids finds a real image.
  const images = xmlValues(
    await queryCall(t, 'ec2', EC2, 'DescribeImages', { 'Owner.1': 'amazon' }),
    'imageId',
  );
  const al2023 = images[0] ?? 'ami-0eksal2023000000';
  const bottlerocket = images[1] ?? 'ami-0eksbottlerocket0';
  const parameters = {
    [`/aws/service/eks/optimized-ami/${minor}/amazon-linux-2023/x86_64/standard/recommended/image_id`]:
      al2023,
    [`/aws/service/eks/optimized-ami/${minor}/amazon-linux-2023/arm64/standard/recommended/image_id`]: al2023,
    [`/aws/service/bottlerocket/aws-k8s-${minor}/x86_64/latest/image_id`]: bottlerocket,
    [`/aws/service/bottlerocket/aws-k8s-${minor}/arm64/latest/image_id`]: bottlerocket,
  };
  const res = await fetch(`${endpoint}/_keiko/v1/ssm-parameters`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      accountId,
      region,
      parameters: Object.entries(parameters).map(([name, value]) => ({
        name,
        value,
        dataType: 'aws:ec2:image',
      })),
    }),
  });
  if (!res.ok) throw new Error(`testkit: seeding SSM parameters failed: ${res.status} ${await res.text()}`);

  return {
    accountId,
    region,
    endpoint,
    credentials,
    clusterName: cluster,
    clusterTagKey: clusterTagKey(cluster),
    vpcId,
    subnets,
    securityGroups,
    amis: { al2023, bottlerocket, parameters },
    kubernetesVersion: minor,
    env: () => ({
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
    }),
  };
}
