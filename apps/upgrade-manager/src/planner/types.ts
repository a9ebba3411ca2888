/**
 * The planner's view of the world: plain data observed from AWS, Kubernetes and the RollingUpgrade's
 * status. No SDK types, so table tests can write it by hand.
 */
import type { InstancePhase, InstanceProgress } from '../api/rollingupgrade.js';

export type { InstancePhase, InstanceProgress };

/** A launch template reference with its version resolved to a number (`$Latest`/`$Default` resolved). */
export interface TemplateRef {
  id?: string;
  name?: string;
  version?: string;
}

/** One instance of the ASG as AWS reports it. */
export interface ObservedInstance {
  instanceId: string;
  availabilityZone: string;
  /** ASG lifecycle state: InService, Standby, Pending, Terminating, ... */
  lifecycleState: string;
  instanceType?: string;
  launchConfigurationName?: string;
  /** The template the instance was really launched from (EC2's `aws:ec2launchtemplate:*` tags). */
  launchTemplate?: TemplateRef;
  launchTime?: Date;
}

/** A Node of the cluster, keyed by the instance id of its providerID. */
export interface ObservedNode {
  name: string;
  instanceId: string;
  ready: boolean;
  unschedulable: boolean;
  createdAt?: Date;
  labels: Record<string, string>;
}

/** What the ASG launches now. */
export interface TargetConfig {
  launchConfigurationName?: string;
  launchTemplate?: TemplateRef;
  /** Mixed-instances overrides with their own template, by instance type. */
  overrides?: Record<string, TemplateRef>;
}

/** The spec with defaults applied and units converted. */
export interface RollSettings {
  mode: 'lazy' | 'eager';
  type: 'randomUpdate' | 'uniformAcrossAzUpdate';
  /** Batch size as a count (already resolved against desired capacity, at least 1). */
  maxUnavailable: number;
  forceRefresh: boolean;
  readinessGates: Record<string, string>[];
  nodeIntervalMs: number;
  postDrainDelayMs: number;
  replacementReadyTimeoutMs: number;
  neverJoinedTimeoutMs: number;
  neverJoinedAction: 'replace' | 'fail';
}

export interface PlanInput {
  desiredCapacity: number;
  instances: ObservedInstance[];
  target: TargetConfig;
  /** Nodes by instance id. */
  nodes: ReadonlyMap<string, ObservedNode>;
  settings: RollSettings;
  /** status.instances: what this roll already started. */
  progress: readonly InstanceProgress[];
  /** The RollingUpgrade's creationTimestamp (forceRefresh compares nodes with it). */
  createdAt: Date;
  /** status.startTime: instances launched after it are replacements. */
  startedAt: Date;
  now: Date;
  lastTerminationTime?: Date;
  lastDrainTime?: Date;
  /** Controller-wide eager surge still allowed (replacement instances in flight); Infinity when unlimited. */
  surgeBudget: number /** Why no new batch may start although nothing else stops it (a failed hook Job); steps in flight go on. */;
  hold?: string;
}

/** A step the reconciler carries out for one instance; each is idempotent. */
export type Step =
  /** New in the batch: record it (phase Selected) before any effect. */
  | 'select'
  /** eager: move to ASG Standby (only while InService). */
  | 'enterStandby'
  /** Standby already happened (found after a restart): record phase Standby, no call. */
  | 'recordStandby'
  /** Cordon and drain its node (skipped when it has none), then terminate. */
  | 'drain'
  /** Terminate in the ASG (drain done or not needed). */
  | 'terminate'
  /** Gone from the ASG or terminating there: record phase Terminated, no call. */
  | 'recordTerminated';

export interface PlannedStep {
  instanceId: string;
  step: Step;
  nodeName?: string;
  availabilityZone?: string;
  driftReason?: string;
}

export interface Plan {
  /** Instances still to replace (not yet terminated), with the reason. */
  drifted: { instanceId: string; reason: string }[];
  steps: PlannedStep[];
  /** Replacements launched by this roll that are not Ready nodes within the timeout: the roll pauses. */
  unreadyReplacements: string[];
  /** Instances on the current config that never joined, when neverJoinedAction is fail. */
  neverJoined: string[];
  /** Nodes of the ASG counted unavailable now (desired capacity minus available nodes). */
  unavailable: number;
  /** Why no new batch starts, when nothing new is selected although instances are drifted. */
  waiting?: string;
  /** Nothing drifted, nothing in flight, every replacement Ready. */
  done: boolean;
}
