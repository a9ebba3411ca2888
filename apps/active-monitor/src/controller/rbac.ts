/**
 * Applying and removing a HealthCheck's RBAC objects (see rbac/objects.ts for what they are).
 *
 * Roles and bindings are server-side applied, so rule edits reach existing objects. The
 * ServiceAccount is only created when missing (a user's own ServiceAccount is used as it is and
 * never deleted); one created here carries the HealthCheck's uid label and is deleted with it.
 * Kubernetes refuses to let the controller grant rules it does not hold itself (RBAC escalation
 * prevention): that comes back as {@link RbacForbiddenError}, which the reconciler reports as
 * `RBACReady=False` before any workflow is submitted.
 */
import { ForbiddenError, isAlreadyExists, type KubeClient, type KubeObject } from '@keiko/operator-kit';
import type { HealthCheck } from '../api/healthcheck.js';
import { RbacResources, rbacPlan } from '../rbac/objects.js';
import { HEALTHCHECK_UID_LABEL, type RunType } from '../workflow/build.js';

export class RbacForbiddenError extends Error {
  override name = 'RbacForbiddenError';
}

export async function ensureRbac(client: KubeClient, hc: HealthCheck): Promise<void> {
  const types: RunType[] = hc.spec.remedyworkflow ? ['check', 'remedy'] : ['check'];
  const wanted = new Set<string>();
  try {
    for (const type of types) {
      const plan = rbacPlan(hc, type);
      const sa = plan.serviceAccount;
      const existing = await client.getOrUndefined(
        RbacResources.serviceAccounts,
        sa.metadata.name as string,
        sa.metadata.namespace,
      );
      if (!existing) {
        try {
          await client.create(RbacResources.serviceAccounts, sa);
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
        }
      }
      await client.apply(plan.roleResource, plan.role);
      await client.apply(plan.bindingResource, plan.binding);
      wanted.add(key(plan.role));
      wanted.add(key(plan.binding));
      wanted.add(key(sa));
    }
  } catch (err) {
    if (err instanceof ForbiddenError) throw new RbacForbiddenError((err as Error).message);
    throw err;
  }
  // Objects of an earlier spec (level changed, remedy removed) go.
  await deleteRbac(client, hc, wanted);
}

/** Deletes every RBAC object labelled with this HealthCheck's uid, except `keep` (`kind/ns/name`). */
export async function deleteRbac(
  client: KubeClient,
  hc: HealthCheck,
  keep = new Set<string>(),
): Promise<void> {
  const labelSelector = `${HEALTHCHECK_UID_LABEL}=${hc.metadata.uid}`;
  for (const r of Object.values(RbacResources)) {
    const list = await client.list(r, { labelSelector });
    for (const obj of list.items) {
      if (keep.has(key(obj))) continue;
      await client.delete(r, obj.metadata.name as string, obj.metadata.namespace);
    }
  }
}

function key(obj: KubeObject): string {
  return `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}
