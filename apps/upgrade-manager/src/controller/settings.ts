/** The spec with defaults (from the spec, else the controller flags) resolved into planner settings. */
import type { RollingUpgradeSpec } from '../api/rollingupgrade.js';
import type { Config } from '../config.js';
import { resolveMaxUnavailable } from '../planner/batch-size.js';
import type { RollSettings } from '../planner/types.js';

/** spec.replacementReadyTimeoutSeconds and spec.neverJoinedTimeoutSeconds default. */
export const DEFAULT_JOIN_TIMEOUT_SECONDS = 600;

export function rollSettings(spec: RollingUpgradeSpec, desiredCapacity: number): RollSettings {
  return {
    mode: spec.strategy?.mode ?? 'lazy',
    type: spec.strategy?.type ?? 'randomUpdate',
    maxUnavailable: resolveMaxUnavailable(spec.strategy?.maxUnavailable, desiredCapacity),
    forceRefresh: spec.forceRefresh ?? false,
    readinessGates: (spec.readinessGates ?? []).map((g) => g.matchLabels ?? {}),
    nodeIntervalMs: (spec.nodeIntervalSeconds ?? 0) * 1000,
    postDrainDelayMs: (spec.postDrainDelaySeconds ?? 0) * 1000,
    replacementReadyTimeoutMs: (spec.replacementReadyTimeoutSeconds ?? DEFAULT_JOIN_TIMEOUT_SECONDS) * 1000,
    neverJoinedTimeoutMs: (spec.neverJoinedTimeoutSeconds ?? DEFAULT_JOIN_TIMEOUT_SECONDS) * 1000,
    neverJoinedAction: spec.neverJoinedAction ?? 'replace',
  };
}

/** Drain timeout in ms, or undefined for "wait forever" (0 or -1, from the spec or the flag). */
export function drainTimeoutMs(spec: RollingUpgradeSpec, config: Config): number | undefined {
  const seconds = spec.strategy?.drainTimeout ?? config.drainTimeoutSeconds;
  return seconds <= 0 ? undefined : seconds * 1000;
}
