/**
 * The planner: given the ASG, its instances, the cluster's nodes, the settings and the progress
 * already recorded in status, which step each instance takes next. Pure and deterministic; the
 * reconciler carries the steps out and records each in status, so a restart re-plans from the
 * same facts and never repeats a finished step.
 *
 * Availability rule (lazy): a node counts available when its instance is InService, not part of the
 * roll, and its node is Ready and schedulable (readiness gates apply to replacements only). desired − available is
 * the number unavailable; a new batch only takes what keeps that within maxUnavailable. Replacements
 * still booting count as unavailable, so the next batch waits for them.
 * Eager: a batch goes to Standby (capacity stays), replacements come up, and only once they are
 * Ready is the batch drained; a new batch starts when the previous one is done.
 */
import { driftReason } from './drift.js';
import type {
  InstanceProgress,
  ObservedInstance,
  ObservedNode,
  Plan,
  PlanInput,
  PlannedStep,
} from './types.js';

const isGone = (i: ObservedInstance | undefined) =>
  !i || i.lifecycleState.startsWith('Terminat') || i.lifecycleState === 'Detached';

export function nodeReady(node: ObservedNode | undefined, gates: readonly Record<string, string>[]): boolean {
  if (!node?.ready) return false;
  return gates.every((gate) => Object.entries(gate).every(([k, v]) => node.labels[k] === v));
}

export function planRoll(input: PlanInput): Plan {
  const { settings: s, now, nodes } = input;
  const byId = new Map(input.instances.map((i) => [i.instanceId, i]));
  const steps: PlannedStep[] = [];
  const ms = now.getTime();

  // 1. What the roll already started.
  const active: InstanceProgress[] = [];
  const known = new Set<string>();
  for (const record of input.progress) {
    known.add(record.instanceId);
    if (record.phase === 'Terminated' || record.phase === 'Failed') continue;
    if (isGone(byId.get(record.instanceId))) {
      steps.push({ instanceId: record.instanceId, step: 'recordTerminated' });
      continue;
    }
    active.push(record);
  }
  const activeIds = new Set(active.map((r) => r.instanceId));

  // 2. Drift, never-joined and replacements, over the live instances.
  const live = input.instances.filter((i) => !isGone(i));
  const drifted: { instanceId: string; reason: string }[] = [];
  const neverJoined: string[] = [];
  const unreadyReplacements: string[] = [];
  let replacementsPending = 0;
  for (const instance of live) {
    const node = nodes.get(instance.instanceId);
    let reason = driftReason(instance, input.target, node, s.forceRefresh, input.createdAt);
    const launched = instance.launchTime?.getTime();
    const isReplacement = launched !== undefined && launched >= input.startedAt.getTime();
    if (
      !reason &&
      !node &&
      launched !== undefined &&
      !isReplacement &&
      ms - launched > s.neverJoinedTimeoutMs
    ) {
      if (s.neverJoinedAction === 'replace') reason = 'never joined the cluster';
      else neverJoined.push(instance.instanceId);
    }
    if (reason) {
      drifted.push({ instanceId: instance.instanceId, reason });
    } else if (isReplacement && !activeIds.has(instance.instanceId) && !nodeReady(node, s.readinessGates)) {
      replacementsPending++;
      if (ms - (launched ?? ms) > s.replacementReadyTimeoutMs) unreadyReplacements.push(instance.instanceId);
    }
  }
  const driftById = new Map(drifted.map((d) => [d.instanceId, d.reason]));

  const available = live.filter(
    (i) =>
      i.lifecycleState === 'InService' &&
      !activeIds.has(i.instanceId) &&
      nodeReady(nodes.get(i.instanceId), []) &&
      !nodes.get(i.instanceId)?.unschedulable,
  );
  const unavailable = Math.max(0, input.desiredCapacity - available.length);
  const inService = live.filter((i) => i.lifecycleState === 'InService' && !activeIds.has(i.instanceId));
  const paused = unreadyReplacements.length > 0 || neverJoined.length > 0;
  let waiting: string | undefined;
  if (unreadyReplacements.length > 0) waiting = `replacements not Ready: ${unreadyReplacements.join(', ')}`;

  const gate = (): string | undefined => {
    if (input.lastTerminationTime && ms - input.lastTerminationTime.getTime() < s.nodeIntervalMs)
      return 'nodeIntervalSeconds since the last termination';
    if (input.lastDrainTime && ms - input.lastDrainTime.getTime() < s.postDrainDelayMs)
      return 'postDrainDelaySeconds since the last drain';
    return undefined;
  };

  // 3. Next step of each instance in flight.
  const replacementsUp = inService.length >= input.desiredCapacity && replacementsPending === 0;
  let drainGate: string | undefined;
  for (const record of active) {
    const instance = byId.get(record.instanceId)!;
    const base = { instanceId: record.instanceId, nodeName: nodes.get(record.instanceId)?.name };
    switch (record.phase) {
      case 'Selected':
        if (s.mode === 'eager') {
          steps.push({
            ...base,
            step: instance.lifecycleState === 'Standby' ? 'recordStandby' : 'enterStandby',
          });
        } else {
          steps.push({ ...base, step: 'drain' });
        }
        break;
      case 'Standby':
        if (paused) break;
        if (!replacementsUp) {
          waiting ??= 'replacements to become Ready nodes';
          break;
        }
        drainGate ??= gate() ?? '';
        if (drainGate) {
          waiting ??= drainGate;
          break;
        }
        steps.push({ ...base, step: 'drain' });
        break;
      case 'Draining':
        steps.push({ ...base, step: 'drain' });
        break;
      case 'Terminating':
        steps.push({ ...base, step: 'terminate' });
        break;
    }
  }

  // 4. A new batch.
  const candidates = live.filter((i) => driftById.has(i.instanceId) && !known.has(i.instanceId));
  if (candidates.length > 0 && !paused && input.hold) waiting ??= input.hold;
  if (candidates.length > 0 && !paused && !input.hold) {
    const free = (i: ObservedInstance) => !nodeReady(nodes.get(i.instanceId), []);
    let room: number;
    let freeRoom: number;
    if (s.mode === 'eager') {
      room = active.length > 0 ? 0 : Math.min(s.maxUnavailable, input.surgeBudget);
      freeRoom = room;
      if (active.length > 0) waiting ??= 'the current batch';
      else if (input.surgeBudget <= 0) waiting ??= 'the controller-wide surge limit';
    } else {
      room = Math.max(0, s.maxUnavailable - unavailable);
      freeRoom = Math.max(0, s.maxUnavailable - active.length);
      if (room === 0) waiting ??= `maxUnavailable (${unavailable} of ${input.desiredCapacity} unavailable)`;
    }
    const g = s.mode === 'lazy' && room + freeRoom > 0 ? gate() : undefined;
    if (g) waiting ??= g;
    else {
      const ordered = order(candidates.filter(free).concat(candidates.filter((i) => !free(i))), s.type);
      let taken = 0;
      for (const instance of ordered) {
        if (taken >= freeRoom) break;
        if (!free(instance)) {
          if (room <= 0) continue;
          room--;
        }
        taken++;
        steps.push({
          instanceId: instance.instanceId,
          step: 'select',
          nodeName: nodes.get(instance.instanceId)?.name,
          availabilityZone: instance.availabilityZone,
          driftReason: driftById.get(instance.instanceId),
        });
      }
    }
  }

  const done =
    drifted.length === 0 &&
    active.length === 0 &&
    replacementsPending === 0 &&
    neverJoined.length === 0 &&
    inService.length >= input.desiredCapacity;
  return { drifted, steps, unreadyReplacements, neverJoined, unavailable, waiting, done };
}

/**
 * Batch order. Instances without a usable node come first (replacing them costs no capacity);
 * `randomUpdate` keeps instance-id order (stable across restarts, like upstream's API order);
 * `uniformAcrossAzUpdate` takes zones round-robin, fullest first, so no zone loses more than its share.
 */
function order(instances: ObservedInstance[], type: PlanInput['settings']['type']): ObservedInstance[] {
  if (type !== 'uniformAcrossAzUpdate') return instances;
  const byZone = new Map<string, ObservedInstance[]>();
  for (const i of instances) {
    const list = byZone.get(i.availabilityZone) ?? [];
    list.push(i);
    byZone.set(i.availabilityZone, list);
  }
  // The zone with the most instances still to replace goes first (then by name): batch after batch,
  // the zones' replaced counts stay within one of each other instead of restarting at zone "a".
  const zones = [...byZone.keys()].sort(
    (a, b) => byZone.get(b)!.length - byZone.get(a)!.length || a.localeCompare(b),
  );
  const out: ObservedInstance[] = [];
  for (let round = 0; out.length < instances.length; round++) {
    for (const z of zones) {
      const next = byZone.get(z)![round];
      if (next) out.push(next);
    }
  }
  return out;
}

/** Dry run: the batches the roll would take, from the current state, assuming each batch completes. */
export function planBatches(input: PlanInput): string[][] {
  const batches: string[][] = [];
  let state = input;
  for (let i = 0; i < 10_000; i++) {
    const plan = planRoll({ ...state, surgeBudget: Number.POSITIVE_INFINITY });
    const batch = plan.steps.filter((st) => st.step === 'select').map((st) => st.instanceId);
    if (batch.length === 0) break;
    batches.push(batch);
    // Pretend the batch was replaced by Ready instances on the current configuration.
    const removed = new Set(batch);
    state = {
      ...state,
      lastTerminationTime: undefined,
      lastDrainTime: undefined,
      progress: [...state.progress, ...batch.map((id) => ({ instanceId: id, phase: 'Terminated' as const }))],
      instances: state.instances.filter((inst) => !removed.has(inst.instanceId)),
      desiredCapacity: state.desiredCapacity - batch.length,
    };
  }
  return batches;
}
