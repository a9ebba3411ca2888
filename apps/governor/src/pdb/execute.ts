/**
 * pdb-reaper's effects: persistence marks (annotation `reapable-since`), and deletions. Before a PDB is
 * deleted its manifest is saved in a ConfigMap `pdb-backup-<namespace>-<name>` in the reaper's namespace
 * (`kubectl get cm ... -o jsonpath='{.data.pdb\.json}' | kubectl apply -f -` restores it), events go on
 * the PDB, and the delete carries its UID as a precondition. Each PDB is isolated.
 */
import { createHash } from 'node:crypto';
import type { PdbReaperConfig } from '../config.js';
import { PDB_REAPABLE_SINCE_ANNOTATION, type PodDisruptionBudget, Resources } from '../kube.js';
import { type ActionResult, executeEach, type RunContext } from '../run/context.js';
import type { PdbCandidate, PdbPlan } from './planner.js';

export const BACKUP_LABEL = 'governor.keikoproj.io/pdb-backup';

/** A DNS-1123 ConfigMap name for the backup of `namespace/name` (hashed when too long). */
export function backupName(namespace: string, name: string): string {
  const plain = `pdb-backup-${namespace}-${name}`;
  if (plain.length <= 253) return plain;
  return `pdb-backup-${createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 32)}`;
}

function restorable(pdb: PodDisruptionBudget): PodDisruptionBudget {
  const { name, namespace, labels, annotations } = pdb.metadata;
  const kept = { ...(annotations ?? {}) };
  delete kept[PDB_REAPABLE_SINCE_ANNOTATION];
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {
      name,
      ...(namespace ? { namespace } : {}),
      ...(labels ? { labels } : {}),
      ...(Object.keys(kept).length ? { annotations: kept } : {}),
    },
    ...(pdb.spec ? { spec: pdb.spec } : {}),
  };
}

export async function executePdbPlan(
  ctx: RunContext,
  config: PdbReaperConfig,
  plan: PdbPlan,
): Promise<ActionResult<PdbCandidate>[]> {
  return executeEach(
    ctx,
    plan.actions,
    (c) => c.pdb,
    async (c) => {
      if (c.action === 'mark' || c.action === 'unmark') {
        const value = c.action === 'mark' ? ctx.now().toISOString() : null;
        await ctx.client.patch(Resources.pdbs, c.name, c.namespace, {
          metadata: { annotations: { [PDB_REAPABLE_SINCE_ANNOTATION]: value } },
        });
        return;
      }
      const pdb = await ctx.client.getOrUndefined<PodDisruptionBudget>(Resources.pdbs, c.name, c.namespace);
      if (!pdb || pdb.metadata.uid !== c.uid) return;
      ctx.log.info({ pdb: c.pdb, reason: c.reason, detail: c.detail }, 'reaping');
      const regarding = { ...pdb, apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' };
      await ctx.recorder.event(regarding, {
        type: 'Normal',
        reason: c.reason,
        action: 'Reap',
        note: c.detail,
      });
      await ctx.client.apply(Resources.configMaps, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: backupName(c.namespace, c.name),
          namespace: config.lockNamespace,
          labels: { [BACKUP_LABEL]: 'true' },
          annotations: { 'governor.keikoproj.io/pdb': c.pdb, 'governor.keikoproj.io/reason': c.reason },
        },
        data: { 'pdb.json': JSON.stringify(restorable(pdb), null, 2) },
      } as never);
      await ctx.client.delete(Resources.pdbs, c.name, c.namespace, { uid: c.uid });
      await ctx.recorder.event(regarding, {
        type: 'Normal',
        reason: 'PodDisruptionBudgetDeleted',
        action: 'Delete',
        note: `backed up in ConfigMap ${config.lockNamespace}/${backupName(c.namespace, c.name)}`,
      });
    },
  );
}
