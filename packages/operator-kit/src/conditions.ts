/**
 * metav1.Condition helpers. `lastTransitionTime` changes only when a condition's status changes (a new
 * reason or message alone keeps it), every condition carries the generation it was computed from, and
 * `Ready` summarises the rest.
 */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  /** CamelCase, machine-readable. */
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message?: string;
}

/**
 * Returns a new condition list with `input` set. Order is kept; a new type is appended.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  observedGeneration: number | undefined,
  now: Date = new Date(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === input.type);
  const previous = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message ?? '',
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
    lastTransitionTime:
      previous && previous.status === input.status
        ? previous.lastTransitionTime
        : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/**
 * Sets `Ready` from the other conditions: False with the first failing condition's reason when any of
 * `required` is not True, otherwise True with `readyReason`.
 */
export function summarizeReady(
  conditions: readonly Condition[] | undefined,
  required: string[],
  observedGeneration: number | undefined,
  readyReason = 'Ready',
  now: Date = new Date(),
): Condition[] {
  for (const type of required) {
    const c = getCondition(conditions, type);
    if (c?.status !== 'True') {
      return setCondition(
        conditions,
        {
          type: 'Ready',
          status: c?.status === 'False' ? 'False' : 'Unknown',
          reason: c?.reason ?? `${type}Unknown`,
          message: c?.message ?? `condition ${type} not reported yet`,
        },
        observedGeneration,
        now,
      );
    }
  }
  return setCondition(
    conditions,
    { type: 'Ready', status: 'True', reason: readyReason },
    observedGeneration,
    now,
  );
}
