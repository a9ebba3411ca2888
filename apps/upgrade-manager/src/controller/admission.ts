/**
 * Admission: which RollingUpgrades may roll now. Decided from the cached CRs alone, deterministically,
 * so every pass (and every replica after a failover) reaches the same answer without in-memory maps:
 * one roll per ASG (the one already running, else the oldest), and at most `maxParallel` rolls.
 */
import type { RollingUpgrade } from '../api/rollingupgrade.js';

export const isFinished = (ru: RollingUpgrade) =>
  ru.status?.currentStatus === 'completed' || ru.status?.currentStatus === 'error';

const keyOf = (ru: RollingUpgrade) => `${ru.metadata.namespace}/${ru.metadata.name}`;

/** undefined when `ru` may roll, else why it waits. */
export function admissionBlocker(
  ru: RollingUpgrade,
  all: readonly RollingUpgrade[],
  maxParallel: number,
): string | undefined {
  const contenders = all
    .filter((o) => !o.metadata.deletionTimestamp && !isFinished(o) && !o.spec.dryRun)
    .sort((a, b) => {
      const running =
        Number(b.status?.currentStatus === 'running') - Number(a.status?.currentStatus === 'running');
      if (running !== 0) return running;
      const ta = a.metadata.creationTimestamp ? new Date(a.metadata.creationTimestamp).getTime() : 0;
      const tb = b.metadata.creationTimestamp ? new Date(b.metadata.creationTimestamp).getTime() : 0;
      return ta - tb || keyOf(a).localeCompare(keyOf(b));
    });
  const perAsg = new Map<string, RollingUpgrade>();
  const admitted: string[] = [];
  for (const o of contenders) {
    const asg = o.spec.asgName.toLowerCase();
    if (perAsg.has(asg)) continue;
    perAsg.set(asg, o);
    admitted.push(keyOf(o));
  }
  const holder = perAsg.get(ru.spec.asgName.toLowerCase());
  if (holder && keyOf(holder) !== keyOf(ru))
    return `RollingUpgrade ${keyOf(holder)} is rolling ASG ${ru.spec.asgName}`;
  const rank = admitted.indexOf(keyOf(ru));
  if (rank >= maxParallel) return `${maxParallel} RollingUpgrades are rolling (--max-parallel)`;
  return undefined;
}
