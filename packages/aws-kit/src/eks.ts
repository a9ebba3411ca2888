/** EKS helpers: the cluster (version, endpoint, VPC config) and its managed node groups. */
import {
  type Cluster,
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  ListNodegroupsCommand,
  type Nodegroup,
} from '@aws-sdk/client-eks';
import type { ReadOptions } from './autoscaling.js';
import type { AwsClients } from './clients.js';
import { classifyAwsError } from './errors.js';
import { DEFAULT_TTL_MS } from './ttl.js';

export class Eks {
  constructor(private readonly aws: AwsClients) {}

  /** The cluster, or undefined if it does not exist. */
  async cluster(name: string, options: ReadOptions = {}): Promise<Cluster | undefined> {
    return this.aws.cachedRead(
      'eks',
      'DescribeCluster',
      { name },
      { ttlMs: options.ttlMs ?? DEFAULT_TTL_MS.eksCluster, tags: [`eks:cluster:${name}`] },
      async () => {
        try {
          return (await this.aws.eks.send(new DescribeClusterCommand({ name }))).cluster;
        } catch (err) {
          if (classifyAwsError(err) === 'not-found') return undefined;
          throw err;
        }
      },
    );
  }

  /** Names of the cluster's managed node groups (all pages). */
  async nodegroupNames(clusterName: string): Promise<string[]> {
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.aws.eks.send(new ListNodegroupsCommand({ clusterName, nextToken }));
      names.push(...(page.nodegroups ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return names;
  }

  async nodegroup(clusterName: string, nodegroupName: string): Promise<Nodegroup | undefined> {
    try {
      return (await this.aws.eks.send(new DescribeNodegroupCommand({ clusterName, nodegroupName })))
        .nodegroup;
    } catch (err) {
      if (classifyAwsError(err) === 'not-found') return undefined;
      throw err;
    }
  }
}
