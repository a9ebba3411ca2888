/**
 * The node simulator plays the kubelet that joins a real EC2 instance to the cluster.
 *
 * It polls the emulator for the instances of one account and region that carry the cluster tag
 * (`kubernetes.io/cluster/<name>`). For each running one it creates a Node named like EKS names it
 * (the private DNS name), with `spec.providerID: aws:///<az>/<instance-id>`, the topology and
 * instance-type labels, and the labels and taints its user data asks for (see ./user-data.ts). The
 * Node carries kwok's annotation, so kwok in the control plane makes it Ready. When the instance is
 * no longer running (terminated, stopped) or loses the cluster tag, its Node is deleted.
 *
 * Assumptions: it owns the Nodes it labels `testkit.keiko.dev/simulated-cluster=<name>` (it adopts
 * them after a restart) and touches no other Node. It is level-based: each pass compares the
 * instances with the Nodes it knows, so a missed poll is caught up by the next.
 */
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { KWOK_NODE_ANNOTATION, KWOK_NODE_ANNOTATION_VALUE } from '../control-plane.js';
import { clusterTagKey, type TestAwsAccount } from './account.js';
import { parseKubeletRegistration } from './user-data.js';

/** The label by which the simulator recognises its Nodes. */
export const SIMULATED_CLUSTER_LABEL = 'testkit.keiko.dev/simulated-cluster';
export const INSTANCE_ID_ANNOTATION = 'testkit.keiko.dev/instance-id';

/** One instance as the emulator's side door reports it. */
export interface EmulatedInstance {
  instanceId: string;
  state: string;
  instanceType: string;
  availabilityZone: string;
  privateDnsName: string;
  privateIpAddress: string;
  launchTime: string;
  imageId: string;
  tags: Record<string, string>;
  userData: string | null;
  /** When the emulator created the instance, in epoch milliseconds (the side door records it). */
  launchedAtMs?: number | null;
}

export interface NodeSimulatorOptions {
  kubeConfig: KubeConfig;
  /** The emulator URL. */
  endpoint: string;
  accountId: string;
  region: string;
  clusterName: string;
  /**
   * Milliseconds from an instance's launch to its Node appearing (default 0), as EC2 boots from the
   * launch whenever a poll sees it. Without a launch time from the emulator: from the first poll that
   * saw it running.
   */
  bootDelayMs?: number;
  /** Milliseconds between polls (default 250). */
  pollIntervalMs?: number;
  /** Node creations/deletions in flight at once (default 16). */
  concurrency?: number;
  /** Errors of a pass (default: console.warn). */
  onError?: (err: unknown) => void;
}

export interface NodeSimulatorStats {
  polls: number;
  nodesCreated: number;
  nodesDeleted: number;
  errors: number;
}

/** The Node a kubelet on `instance` would register, for cluster `clusterName`. Pure. */
export function nodeForInstance(instance: EmulatedInstance, clusterName: string): V1Node {
  const { labels, taints } = parseKubeletRegistration(instance.userData);
  const region = instance.availabilityZone.replace(/[a-z]$/, '');
  const arm = /^[a-z]+\d+g/.test(instance.instanceType); // m6g, c7gn, t4g: Graviton
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: instance.privateDnsName,
      labels: {
        ...labels,
        'kubernetes.io/hostname': instance.privateDnsName,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': arm ? 'arm64' : 'amd64',
        'node.kubernetes.io/instance-type': instance.instanceType,
        'topology.kubernetes.io/region': region,
        'topology.kubernetes.io/zone': instance.availabilityZone,
        [SIMULATED_CLUSTER_LABEL]: clusterName,
      },
      annotations: {
        [KWOK_NODE_ANNOTATION]: KWOK_NODE_ANNOTATION_VALUE,
        [INSTANCE_ID_ANNOTATION]: instance.instanceId,
      },
    },
    spec: {
      providerID: `aws:///${instance.availabilityZone}/${instance.instanceId}`,
      ...(taints.length > 0 ? { taints } : {}),
    },
  };
}

export class NodeSimulator {
  readonly stats: NodeSimulatorStats = { polls: 0, nodesCreated: 0, nodesDeleted: 0, errors: 0 };
  private readonly core: CoreV1Api;
  /** instance id -> Node name, for the Nodes that exist. */
  private readonly nodes = new Map<string, string>();
  /** instance id -> when it was first seen running (boot delay). */
  private readonly firstSeen = new Map<string, number>();
  /**
   * instance id -> the timer that registers its Node when its boot delay ends. Without it a Node
   * would appear at the first poll after the delay, a poll late (up to a whole pass under load).
   */
  private readonly bootTimers = new Map<string, NodeJS.Timeout>();
  private readonly booting = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private stopped = false;

  private constructor(private readonly options: NodeSimulatorOptions) {
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
  }

  /** {@link start} for the cluster of a test account (its endpoint, account id, region and cluster name). */
  static forAccount(
    account: Pick<TestAwsAccount, 'endpoint' | 'accountId' | 'region' | 'clusterName'>,
    options: Omit<NodeSimulatorOptions, 'endpoint' | 'accountId' | 'region' | 'clusterName'>,
  ): Promise<NodeSimulator> {
    const { endpoint, accountId, region, clusterName } = account;
    return NodeSimulator.start({ ...options, endpoint, accountId, region, clusterName });
  }

  /** Adopts existing simulated Nodes of the cluster, then polls until {@link stop}. */
  static async start(options: NodeSimulatorOptions): Promise<NodeSimulator> {
    const sim = new NodeSimulator(options);
    await sim.adopt();
    sim.schedule(0);
    return sim;
  }

  /** Stops polling and waits for the pass in flight. Leaves the Nodes in place. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const t of this.bootTimers.values()) clearTimeout(t);
    this.bootTimers.clear();
    await this.pass;
    await Promise.allSettled([...this.booting]);
  }

  /** Node names by instance id, as of the last pass. */
  nodeNames(): ReadonlyMap<string, string> {
    return this.nodes;
  }

  /** Runs one observe-and-act pass now (waits for a pass in flight first). */
  async syncOnce(): Promise<void> {
    while (this.pass) await this.pass;
    this.pass = this.sync().finally(() => {
      this.pass = undefined;
    });
    await this.pass;
  }

  /** The instances of the cluster, read through the emulator's side door (no EC2 API quota used). */
  async instances(): Promise<EmulatedInstance[]> {
    const o = this.options;
    const url = new URL('/_keiko/v1/instances', o.endpoint);
    url.searchParams.set('accountId', o.accountId);
    url.searchParams.set('region', o.region);
    url.searchParams.set('tagKey', clusterTagKey(o.clusterName));
    const res = await fetch(url);
    if (!res.ok)
      throw new Error(`testkit: listing emulated instances failed: ${res.status} ${await res.text()}`);
    return (await res.json()) as EmulatedInstance[];
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.syncOnce()
        .catch((err) => {
          this.stats.errors++;
          (this.options.onError ?? ((e) => console.warn('[node-simulator] pass failed', e)))(err);
        })
        .finally(() => this.schedule(this.options.pollIntervalMs ?? 250));
    }, delayMs);
  }

  private async adopt(): Promise<void> {
    const list = await this.core.listNode({
      labelSelector: `${SIMULATED_CLUSTER_LABEL}=${this.options.clusterName}`,
    });
    for (const node of list.items) {
      const id = node.metadata?.annotations?.[INSTANCE_ID_ANNOTATION];
      if (id && node.metadata?.name) this.nodes.set(id, node.metadata.name);
    }
  }

  private async sync(): Promise<void> {
    this.stats.polls++;
    const instances = await this.instances();
    const now = Date.now();
    const running = new Map(instances.filter((i) => i.state === 'running').map((i) => [i.instanceId, i]));
    const bootDelay = this.options.bootDelayMs ?? 0;

    const toCreate: EmulatedInstance[] = [];
    for (const [id, instance] of running) {
      if (this.nodes.has(id)) continue;
      const seen = this.firstSeen.get(id) ?? Math.min(now, instance.launchedAtMs ?? now);
      this.firstSeen.set(id, seen);
      if (now - seen >= bootDelay) {
        if (!this.bootTimers.has(id)) toCreate.push(instance);
      } else if (!this.bootTimers.has(id)) {
        this.bootTimers.set(
          id,
          setTimeout(() => this.boot(instance), seen + bootDelay - now),
        );
      }
    }
    const toDelete = [...this.nodes].filter(([id]) => !running.has(id));
    for (const id of this.firstSeen.keys()) {
      if (running.has(id)) continue;
      this.firstSeen.delete(id);
      clearTimeout(this.bootTimers.get(id));
      this.bootTimers.delete(id);
    }

    // Deletions first: moto hands a terminated instance's private IP, hence its Node name, to the
    // next instance it launches in that subnet, often the replacement itself.
    const limit = this.options.concurrency ?? 16;
    await runLimited(
      limit,
      toDelete.map(
        ([id, name]) =>
          () =>
            this.deleteNode(id, name),
      ),
    );
    await runLimited(
      limit,
      toCreate.map((instance) => () => this.createNode(instance)),
    );
  }

  /** The boot delay of an instance seen running has ended: its Node registers now, not at the next poll. */
  private boot(instance: EmulatedInstance): void {
    this.bootTimers.delete(instance.instanceId);
    if (this.stopped || this.nodes.has(instance.instanceId) || !this.firstSeen.has(instance.instanceId))
      return;
    const creation = this.createNode(instance)
      .catch((err) => {
        this.stats.errors++;
        (this.options.onError ?? ((e) => console.warn('[node-simulator] boot failed', e)))(err);
      })
      .finally(() => this.booting.delete(creation));
    this.booting.add(creation);
  }

  private async createNode(instance: EmulatedInstance): Promise<void> {
    const body = nodeForInstance(instance, this.options.clusterName);
    const name = body.metadata!.name!;
    try {
      await this.core.createNode({ body });
      this.stats.nodesCreated++;
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
      // The name is taken: by this instance's Node (fine), or by a stale Node of an earlier instance
      // with the same private IP, which a real kubelet would also replace.
      const existing = await this.core.readNode({ name });
      if (existing.metadata?.annotations?.[INSTANCE_ID_ANNOTATION] !== instance.instanceId) {
        await this.core.deleteNode({ name });
        await this.core.createNode({ body });
        this.stats.nodesCreated++;
      }
    }
    this.nodes.set(instance.instanceId, name);
  }

  private async deleteNode(instanceId: string, name: string): Promise<void> {
    try {
      await this.core.deleteNode({ name });
      this.stats.nodesDeleted++;
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
    this.nodes.delete(instanceId);
    this.firstSeen.delete(instanceId);
  }
}

/** Runs `tasks` with at most `limit` in flight; rejects with the first error after all settle. */
async function runLimited(limit: number, tasks: Array<() => Promise<void>>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      await task().catch((err) => errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (errors.length > 0) throw errors[0];
}
