/**
 * node-reaper's decisions, pure: observed nodes, pods, NodeReady events, instances, ASGs and a clock
 * in; a plan out (what to do to which node or instance, and why; and what was skipped, and why).
 * No I/O, so `--dry-run` prints exactly what a real run would do, and tests need no cluster and no sleep.
 *
 * Safety rails that upstream applied on some paths only apply here on every path: control-plane nodes,
 * the reaper's own node, skip labels, the region filter and the drain back-off.
 */
import { type NodeReaperConfig, parseTaintSpec, type TaintSpec } from '../config.js';
import {
  type CoreEvent,
  conditionOf,
  KARPENTER_REGISTERED_LABEL,
  minutesSince,
  NODE_REAPER_DISABLED_LABEL,
  type Node,
  type Pod,
  REASON_DISABLED_LABELS,
  STATE_ANNOTATION,
} from '../kube.js';
import {
  asgInstability,
  drainBackoffUntil,
  instanceIdOf,
  isControlPlane,
  matchesTaint,
  percentCap,
  podIsReady,
  readyStatus,
  readyTransitions,
  regionOf,
} from './rules.js';

export type NodeReason = 'NotReady' | 'Unknown' | 'Flappy' | 'Ghost' | 'Unjoined' | 'Tainted' | 'Old';
/**
 * - `drain-terminate`: cordon, drain, TerminateInstanceInAutoScalingGroup without decrement (the ASG
 *   launches a replacement);
 * - `drain-delete-node`: cordon, drain, delete the Node (Karpenter nodes: its finalizer frees the instance);
 * - `delete-node`: the instance is already gone; only the Node object is left;
 * - `terminate-instance`: an instance that never joined.
 */
export type NodeAction = 'drain-terminate' | 'drain-delete-node' | 'delete-node' | 'terminate-instance';

export interface InstanceInfo {
  instanceId: string;
  /** EC2 state name: pending, running, shutting-down, terminated, stopping, stopped. */
  state: string;
  launchTime?: string;
  /** From the `aws:autoscaling:groupName` tag. */
  asg?: string;
  privateDnsName?: string;
  tags: Record<string, string>;
}

export interface AsgInfo {
  name: string;
  desiredCapacity: number;
  instances: { instanceId: string; healthStatus: string; lifecycleState: string }[];
  suspendedProcesses: string[];
}

export interface NodeObservation {
  now: Date;
  nodes: Node[];
  /** Pods of the cluster (soft-reap looks for Ready pods on unready nodes). */
  pods: Pod[];
  /** core/v1 Events with reason NodeReady on Nodes. */
  readyEvents: CoreEvent[];
  /** What EC2 returned for the nodes' providerID instance ids. An id asked for and absent is gone. */
  instances: InstanceInfo[];
  /** Running instances carrying the unjoined tag pair (empty unless --reap-unjoined). */
  unjoinedInstances: InstanceInfo[];
  asgs: AsgInfo[];
}

export interface NodeCandidate {
  /** The Node, absent for unjoined instances. */
  node?: string;
  instanceId?: string;
  asg?: string;
  reason: NodeReason;
  action: NodeAction;
  detail: string;
  /** Seconds to wait after this termination (upstream's reap-throttle / reap-old-throttle). */
  throttleSeconds: number;
}

export interface NodeSkip {
  node?: string;
  instanceId?: string;
  reason: NodeReason;
  why: string;
}

export interface NodePlan {
  actions: NodeCandidate[];
  skipped: NodeSkip[];
  /** The run's termination cap: min(max-kill-nodes, max-kill-percent of the cluster). */
  cap: number;
}

/** Instance tag upgrade-manager puts on instances it is rolling. */
export const UPGRADE_MANAGER_STATE_TAG = 'upgrademgr.keikoproj.io/state';
const ASG_TAG = 'aws:autoscaling:groupName';

export {
  asgInstability,
  drainBackoffUntil,
  instanceIdOf,
  isControlPlane,
  percentCap,
  readyStatus,
  readyTransitions,
  regionOf,
} from './rules.js';

export const asgOfTags = (tags: Record<string, string>): string | undefined => tags[ASG_TAG];

interface Matched {
  node: Node;
  reason: NodeReason;
  detail: string;
  since?: string;
}

export function planNodeReaping(obs: NodeObservation, config: NodeReaperConfig): NodePlan {
  const { now } = obs;
  const actions: NodeCandidate[] = [];
  const skipped: NodeSkip[] = [];
  const instances = new Map(obs.instances.map((i) => [i.instanceId, i]));
  const asgs = new Map(obs.asgs.map((a) => [a.name, a]));
  const taints = config.reapTainted.map(parseTaintSpec);

  const readyPodsByNode = new Map<string, number>();
  for (const pod of obs.pods) {
    const n = pod.spec?.nodeName;
    if (n && podIsReady(pod)) readyPodsByNode.set(n, (readyPodsByNode.get(n) ?? 0) + 1);
  }
  const rollingAsgs = new Set<string>();
  for (const i of obs.instances) {
    if (i.tags[UPGRADE_MANAGER_STATE_TAG] === 'in-progress' && i.asg) rollingAsgs.add(i.asg);
  }
  const allReady = obs.nodes.every((n) => readyStatus(n) === 'True');
  // When EC2 does not know most of the nodes' instances, the credentials or region are wrong, not the
  // nodes: deleting them all would empty the cluster. Only positive evidence (terminated) then counts.
  const awsNodes = obs.nodes.filter((n) => instanceIdOf(n)).length;
  const unknownToEc2 = obs.nodes.filter((n) => {
    const id = instanceIdOf(n);
    return id !== undefined && !instances.has(id);
  }).length;
  const distrustMissing = unknownToEc2 > 1 && unknownToEc2 * 2 > awsNodes;

  const matched: Matched[] = [];
  for (const node of obs.nodes) {
    const m = matchNode(node, obs, config, instances, taints);
    if (m) matched.push(m);
  }

  const eligible: { m: Matched; instanceId?: string; asg?: string; karpenter: boolean }[] = [];
  for (const m of matched) {
    const { node, reason } = m;
    const name = node.metadata.name;
    const labels = node.metadata.labels ?? {};
    const instanceId = instanceIdOf(node);
    const instance = instanceId ? instances.get(instanceId) : undefined;
    const asg = instance?.asg;
    const karpenter = labels[KARPENTER_REGISTERED_LABEL] === 'true' || KARPENTER_REGISTERED_LABEL in labels;
    const skip = (why: string) =>
      skipped.push({ node: name, ...(instanceId ? { instanceId } : {}), reason, why });

    if (isControlPlane(node)) {
      skip('control-plane node');
      continue;
    }
    if (config.nodeName && name === config.nodeName) {
      skip("the reaper's own node");
      continue;
    }
    if (labels[NODE_REAPER_DISABLED_LABEL] === 'true') {
      skip(`label ${NODE_REAPER_DISABLED_LABEL}=true`);
      continue;
    }
    const reasonLabel = REASON_DISABLED_LABELS[reason as keyof typeof REASON_DISABLED_LABELS];
    if (reasonLabel && labels[reasonLabel] === 'true') {
      skip(`label ${reasonLabel}=true`);
      continue;
    }
    if (config.region && regionOf(node) && regionOf(node) !== config.region) {
      skip(`region ${regionOf(node)} is not ${config.region}`);
      continue;
    }
    if (reason === 'Ghost') {
      if (distrustMissing && !instance) {
        skip(
          `EC2 does not know ${unknownToEc2} of ${awsNodes} instances: wrong region or account? No ghost deleted`,
        );
        continue;
      }
      actions.push({
        node: name,
        ...(instanceId ? { instanceId } : {}),
        reason,
        action: 'delete-node',
        detail: m.detail,
        throttleSeconds: 0,
      });
      continue;
    }
    if (node.metadata.annotations?.[STATE_ANNOTATION] === 'termination-issued') {
      skip('termination already issued');
      continue;
    }
    const backoff = drainBackoffUntil(node, config.reconsiderUnreapableAfter);
    if (backoff && backoff > now) {
      skip(`drain failed recently; reconsidered after ${backoff.toISOString()}`);
      continue;
    }
    if ((reason === 'NotReady' || reason === 'Unknown') && config.softReap) {
      const ready = readyPodsByNode.get(name) ?? 0;
      if (ready > 0) {
        skip(`soft-reap: ${ready} Ready pod(s) still on the node`);
        continue;
      }
    }
    if (reason === 'Old' && !allReady) {
      skip('not every node is Ready');
      continue;
    }
    if (!karpenter) {
      if (!instanceId) {
        skip('no AWS providerID');
        continue;
      }
      if (asg && rollingAsgs.has(asg)) {
        skip(`upgrade-manager is rolling ASG ${asg}`);
        continue;
      }
      if (config.asgValidation) {
        const group = asg ? asgs.get(asg) : undefined;
        if (!group) {
          skip(asg ? `ASG ${asg} not found` : 'instance is not in an ASG');
          continue;
        }
        const why = asgInstability(group);
        if (why) {
          skip(`ASG ${asg} is not stable: ${why}`);
          continue;
        }
      }
    }
    eligible.push({ m, ...(instanceId ? { instanceId } : {}), ...(asg ? { asg } : {}), karpenter });
  }

  // Unhealthy first (longest-broken first), then old (oldest first), as upstream ran its two queues.
  const rank = (e: (typeof eligible)[number]) => (e.m.reason === 'Old' ? 1 : 0);
  eligible.sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.m.since ?? '').localeCompare(b.m.since ?? '') ||
      a.m.node.metadata.name.localeCompare(b.m.node.metadata.name),
  );

  const cap = Math.min(config.maxKillNodes, percentCap(obs.nodes.length, config.maxKillPercent));
  const perGroup = new Map<string, number>();
  const groupSize = (group: string, karpenter: boolean) => {
    if (!karpenter) {
      const a = asgs.get(group);
      if (a) return a.desiredCapacity;
    }
    return obs.nodes.filter((n) => groupOf(n, instances) === group).length;
  };
  let used = 0;
  for (const e of eligible) {
    const name = e.m.node.metadata.name;
    const reason = e.m.reason;
    if (used >= cap) {
      skipped.push({ node: name, reason, why: `cap reached: ${cap} node(s) per run` });
      continue;
    }
    const group = e.karpenter ? groupOf(e.m.node, instances) : e.asg;
    if (group) {
      const groupCap = percentCap(groupSize(group, e.karpenter), config.maxKillPercentPerAsg);
      const n = perGroup.get(group) ?? 0;
      if (n >= groupCap) {
        skipped.push({
          node: name,
          reason,
          why: `cap reached: ${groupCap} node(s) per run in group ${group}`,
        });
        continue;
      }
      perGroup.set(group, n + 1);
    }
    used++;
    actions.push({
      node: name,
      ...(e.instanceId ? { instanceId: e.instanceId } : {}),
      ...(e.asg ? { asg: e.asg } : {}),
      reason,
      action: e.karpenter ? 'drain-delete-node' : 'drain-terminate',
      detail: e.m.detail,
      throttleSeconds: reason === 'Old' ? config.reapOldThrottle : config.reapThrottle,
    });
  }

  if (config.reapUnjoined) {
    const known = new Set<string>();
    for (const n of obs.nodes) {
      known.add(n.metadata.name);
      const id = instanceIdOf(n);
      if (id) known.add(id);
    }
    for (const i of obs.unjoinedInstances) {
      if (
        i.state !== 'running' ||
        known.has(i.instanceId) ||
        (i.privateDnsName && known.has(i.privateDnsName))
      )
        continue;
      const age = minutesSince(now, i.launchTime);
      if (!(age > config.reapUnjoinedThresholdMinutes)) continue;
      if (used >= cap) {
        skipped.push({ instanceId: i.instanceId, reason: 'Unjoined', why: `cap reached: ${cap} per run` });
        continue;
      }
      used++;
      actions.push({
        instanceId: i.instanceId,
        ...(i.asg ? { asg: i.asg } : {}),
        reason: 'Unjoined',
        action: 'terminate-instance',
        detail: `launched ${Math.floor(age)} min ago and never became a node`,
        throttleSeconds: config.reapThrottle,
      });
    }
  }
  return { actions, skipped, cap };
}

function groupOf(node: Node, instances: Map<string, InstanceInfo>): string | undefined {
  const pool = node.metadata.labels?.['karpenter.sh/nodepool'];
  if (pool) return `nodepool/${pool}`;
  const id = instanceIdOf(node);
  return id ? instances.get(id)?.asg : undefined;
}

function matchNode(
  node: Node,
  obs: NodeObservation,
  config: NodeReaperConfig,
  instances: ReadonlyMap<string, InstanceInfo>,
  taints: TaintSpec[],
): Matched | undefined {
  const { now } = obs;
  const instanceId = instanceIdOf(node);
  if (config.reapGhost && instanceId) {
    const instance = instances.get(instanceId);
    if (!instance) return { node, reason: 'Ghost', detail: `instance ${instanceId} is not known to EC2` };
    if (instance.state === 'terminated' || instance.state === 'shutting-down')
      return { node, reason: 'Ghost', detail: `instance ${instanceId} is ${instance.state}` };
  }
  const ready = conditionOf(node.status?.conditions, 'Ready');
  const status = ready?.status ?? 'Unknown';
  if (status !== 'True') {
    const reason = status === 'False' ? 'NotReady' : 'Unknown';
    const enabled = reason === 'NotReady' ? config.reapUnready : config.reapUnknown;
    const minutes = minutesSince(now, ready?.lastTransitionTime ?? node.metadata.creationTimestamp);
    if (enabled && minutes > config.reapAfter) {
      return {
        node,
        reason,
        detail: `Ready=${status} for ${Math.floor(minutes)} min (threshold ${config.reapAfter})`,
        ...(ready?.lastTransitionTime ? { since: ready.lastTransitionTime } : {}),
      };
    }
  }
  if (config.reapFlappy) {
    const count = readyTransitions(obs.readyEvents, node.metadata.name, now, config.flapWindowMinutes);
    if (count >= config.flapCount)
      return {
        node,
        reason: 'Flappy',
        detail: `${count} NodeReady events in ${config.flapWindowMinutes} min`,
      };
  }
  const taint = taints.find((t) => matchesTaint(node, t));
  if (taint)
    return {
      node,
      reason: 'Tainted',
      detail: `taint ${taint.key}${taint.value !== undefined ? `=${taint.value}` : ''}${taint.effect ? `:${taint.effect}` : ''}`,
    };
  if (config.reapOld) {
    const age = minutesSince(now, node.metadata.creationTimestamp);
    if (age >= config.reapOldThresholdMinutes && status === 'True') {
      return {
        node,
        reason: 'Old',
        detail: `${Math.floor(age / 1440)} days old (threshold ${config.reapOldThresholdMinutes} min)`,
        ...(node.metadata.creationTimestamp ? { since: node.metadata.creationTimestamp } : {}),
      };
    }
  }
  return undefined;
}
