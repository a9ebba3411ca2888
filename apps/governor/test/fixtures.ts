/** Object builders for the planner table tests (plain objects as the API server returns them). */
import { type Command, type ConfigByCommand, parseConfig } from '../src/config.js';
import type { Condition, CoreEvent, Node, Pod, PodDisruptionBudget } from '../src/kube.js';
import type { AsgInfo, InstanceInfo } from '../src/node/planner.js';

export const NOW = new Date('2026-01-10T12:00:00Z');
export const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();

export function config<C extends Command>(command: C, argv: string[] = []): ConfigByCommand[C] {
  return parseConfig(command, { argv, env: {} });
}

export interface NodeSpec {
  ready?: 'True' | 'False' | 'Unknown';
  since?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  ageMinutes?: number;
  zone?: string;
  instanceId?: string;
}

export function node(name: string, s: NodeSpec = {}): Node {
  const zone = s.zone ?? 'us-west-2a';
  const conditions: Condition[] = [
    { type: 'Ready', status: s.ready ?? 'True', lastTransitionTime: minutesAgo(s.since ?? 600) },
  ];
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      creationTimestamp: minutesAgo(s.ageMinutes ?? 1000),
      labels: { 'topology.kubernetes.io/region': 'us-west-2', ...s.labels },
      ...(s.annotations ? { annotations: s.annotations } : {}),
    },
    spec: {
      providerID: `aws:///${zone}/${s.instanceId ?? `i-${name}`}`,
      ...(s.taints ? { taints: s.taints } : {}),
    },
    status: { conditions },
  };
}

export function instance(id: string, s: Partial<InstanceInfo> = {}): InstanceInfo {
  return { instanceId: id, state: 'running', asg: 'workers', tags: {}, launchTime: minutesAgo(1000), ...s };
}

export function asg(name: string, ids: string[], s: Partial<AsgInfo> = {}): AsgInfo {
  return {
    name,
    desiredCapacity: ids.length,
    instances: ids.map((instanceId) => ({
      instanceId,
      healthStatus: 'Healthy',
      lifecycleState: 'InService',
    })),
    suspendedProcesses: [],
    ...s,
  };
}

export function readyEvent(nodeName: string, count: number, firstMin: number, lastMin: number): CoreEvent {
  return {
    metadata: { name: `${nodeName}.${firstMin}`, namespace: 'default' },
    involvedObject: { kind: 'Node', name: nodeName },
    reason: 'NodeReady',
    count,
    firstTimestamp: minutesAgo(firstMin),
    lastTimestamp: minutesAgo(lastMin),
  };
}

export interface PodSpec {
  namespace?: string;
  node?: string;
  phase?: string;
  ready?: boolean;
  deletedMinutesAgo?: number;
  grace?: number;
  finalizers?: string[];
  running?: boolean;
  finishedMinutesAgo?: number;
  labels?: Record<string, string>;
  reason?: string;
  containerStatuses?: Pod['status'] extends infer S
    ? S extends { containerStatuses?: infer C }
      ? C
      : never
    : never;
  conditions?: Condition[];
  uid?: string;
  createdMinutesAgo?: number;
}

export function pod(name: string, s: PodSpec = {}): Pod {
  const statuses =
    s.containerStatuses ??
    (s.running
      ? [{ name: 'app', state: { running: { startedAt: minutesAgo(100) } } }]
      : s.finishedMinutesAgo !== undefined
        ? [
            {
              name: 'app',
              state: { terminated: { finishedAt: minutesAgo(s.finishedMinutesAgo), exitCode: 0 } },
            },
          ]
        : []);
  return {
    metadata: {
      name,
      namespace: s.namespace ?? 'default',
      uid: s.uid ?? `uid-${s.namespace ?? 'default'}-${name}`,
      creationTimestamp: minutesAgo(s.createdMinutesAgo ?? 1000),
      ...(s.labels ? { labels: s.labels } : {}),
      ...(s.deletedMinutesAgo !== undefined
        ? { deletionTimestamp: minutesAgo(s.deletedMinutesAgo), deletionGracePeriodSeconds: s.grace ?? 30 }
        : {}),
      ...(s.finalizers ? { finalizers: s.finalizers } : {}),
    },
    spec: { ...(s.node ? { nodeName: s.node } : {}), terminationGracePeriodSeconds: s.grace ?? 30 },
    status: {
      phase: s.phase ?? 'Running',
      ...(s.reason ? { reason: s.reason } : {}),
      conditions: s.conditions ?? [
        { type: 'Ready', status: s.ready ? 'True' : 'False', lastTransitionTime: minutesAgo(100) },
      ],
      containerStatuses: statuses,
    },
  };
}

export function pdb(
  name: string,
  s: {
    namespace?: string;
    selector?: PodDisruptionBudget['spec'] extends infer P
      ? P extends { selector?: infer L }
        ? L
        : never
      : never;
    minAvailable?: number | string;
    maxUnavailable?: number | string;
    allowed?: number;
    expected?: number;
    createdMinutesAgo?: number;
    annotations?: Record<string, string>;
  } = {},
): PodDisruptionBudget {
  return {
    metadata: {
      name,
      namespace: s.namespace ?? 'default',
      uid: `uid-pdb-${name}`,
      creationTimestamp: minutesAgo(s.createdMinutesAgo ?? 100),
      ...(s.annotations ? { annotations: s.annotations } : {}),
    },
    spec: {
      selector: s.selector ?? { matchLabels: { app: name } },
      ...(s.minAvailable !== undefined ? { minAvailable: s.minAvailable } : {}),
      ...(s.maxUnavailable !== undefined ? { maxUnavailable: s.maxUnavailable } : {}),
    },
    status: { disruptionsAllowed: s.allowed ?? 1, expectedPods: s.expected ?? 2 },
  };
}
